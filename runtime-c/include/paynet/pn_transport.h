/*
 * The transport under the client: a non-blocking, TLS-protected byte stream. An adapter implements
 * these calls for its platform: pn_openssl.h for Linux devices (OpenSSL 3), and the same five
 * calls over mbedTLS 3.6 or wolfSSL on a microcontroller (CLIENT_INTEGRATION.md, "Porting the
 * transport"). No call may block: one that cannot make progress now returns PN_AGAIN, and the
 * client calls it again on a later tick.
 */
#ifndef PAYNET_PN_TRANSPORT_H
#define PAYNET_PN_TRANSPORT_H

#include "pn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_transport {
  /** The adapter's own state, handed to every call. */
  void *ctx;
  /**
   * Starts connecting to host:port (resolve, non-blocking TCP connect). PN_OK: started (progress
   * through handshake); an error: this attempt failed (the client backs off and retries).
   */
  pn_status (*open)(void *ctx, const char *host, uint16_t port);
  /**
   * Drives TCP connect and the TLS handshake. PN_OK: TLS is up; PN_AGAIN: call again later;
   * PN_ERR_IO / PN_ERR_TLS / PN_ERR_CLOSED: this attempt failed.
   */
  pn_status (*handshake)(void *ctx);
  /**
   * Sends up to len bytes: PN_OK with *sent > 0 bytes taken, PN_AGAIN when none could be taken
   * now, an error when the connection is broken. Bytes not taken are offered again, from the
   * same data (possibly longer), on a later call.
   */
  pn_status (*send)(void *ctx, const uint8_t *data, size_t len, size_t *sent);
  /** Receives up to cap bytes: PN_OK with *received > 0, PN_AGAIN when none are there, PN_ERR_CLOSED at EOF. */
  pn_status (*recv)(void *ctx, uint8_t *buf, size_t cap, size_t *received);
  /** Closes the connection (also a half-open one); the transport can be opened again. */
  void (*close)(void *ctx);
  /** Optional (may be NULL): whether the last handshake resumed an earlier TLS session. */
  bool (*resumed)(void *ctx);
  /**
   * Optional (may be NULL): the socket to wait on and whether the last call waits for it to become
   * writable (else readable); -1 when there is none. Used by pn_client_poll_fd.
   */
  int (*poll_fd)(void *ctx, bool *want_write);
} pn_transport;

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_TRANSPORT_H */
