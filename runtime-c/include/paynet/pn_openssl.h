/*
 * The transport over OpenSSL 3 for Linux devices: non-blocking TCP, TLS 1.3 (1.2 only when asked
 * for), the server verified against a CA file and by name (or IP address), a client certificate
 * for mutual TLS, and session resumption: the latest session ticket the server sent is offered on
 * the next connection, so a reconnect skips the full handshake (pn_transport.resumed says whether
 * it did).
 *
 * OpenSSL allocates on its own heap; the paynet runtime around it does not. Name resolution uses
 * getaddrinfo, which blocks for DNS names: give an IP address where that matters. The process
 * should ignore SIGPIPE (a write to a connection the server closed would otherwise end it).
 */
#ifndef PAYNET_PN_OPENSSL_H
#define PAYNET_PN_OPENSSL_H

#include "pn_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_openssl_config {
  /** PEM file of the CA(s) the server certificate must chain to (required). */
  const char *ca_file;
  /** PEM client certificate and key for mutual TLS; NULL: none. */
  const char *cert_file;
  const char *key_file;
  /** Name the server certificate must carry (SNI too); NULL: the host connected to. */
  const char *server_name;
  /** Allow TLS 1.2 (for servers without 1.3); default TLS 1.3 only. */
  bool allow_tls12;
} pn_openssl_config;

typedef struct pn_openssl {
  /* OpenSSL objects, kept opaque here so that this header needs no OpenSSL headers. */
  void *ssl_ctx;
  void *ssl;
  void *session;
  int fd;
  bool tcp_connected;
  bool want_write;
  bool resumed;
  char server_name[256];
  char error[256];
} pn_openssl;

/**
 * Loads the CA, the client certificate and key. PN_ERR_TLS (with pn_openssl_error) when a file
 * cannot be read or the key does not match the certificate.
 */
pn_status pn_openssl_init(pn_openssl *t, const pn_openssl_config *cfg);
/** The pn_transport calls over t. */
pn_transport pn_openssl_transport(pn_openssl *t);
/** Why the last call failed, as OpenSSL or the system said it ("" when nothing failed). */
const char *pn_openssl_error(const pn_openssl *t);
/** Closes any connection and frees OpenSSL's objects. */
void pn_openssl_free(pn_openssl *t);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_OPENSSL_H */
