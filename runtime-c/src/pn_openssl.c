/* The OpenSSL 3 transport (see pn_openssl.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "paynet/pn_openssl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int ex_index = -1;

static void set_error(pn_openssl *t, const char *what) {
  unsigned long code = ERR_peek_last_error();
  if (code != 0) {
    char reason[200];
    ERR_error_string_n(code, reason, sizeof reason);
    (void)snprintf(t->error, sizeof t->error, "%s: %s", what, reason);
  } else if (errno != 0) {
    (void)snprintf(t->error, sizeof t->error, "%s: %s", what, strerror(errno));
  } else {
    (void)snprintf(t->error, sizeof t->error, "%s", what);
  }
  ERR_clear_error();
}

/* TLS 1.3 tickets arrive after the handshake: keep the latest for the next connection. */
static int on_new_session(SSL *ssl, SSL_SESSION *session) {
  pn_openssl *t = SSL_get_ex_data(ssl, ex_index);
  if (t == NULL) return 0;
  if (t->session != NULL) SSL_SESSION_free(t->session);
  t->session = session;
  return 1; /* we keep the reference */
}

pn_status pn_openssl_init(pn_openssl *t, const pn_openssl_config *cfg) {
  memset(t, 0, sizeof *t);
  t->fd = -1;
  if (cfg == NULL || cfg->ca_file == NULL || (cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
    (void)snprintf(t->error, sizeof t->error, "a CA file is required, and a certificate goes with its key");
    return PN_ERR_INVALID;
  }
  if (ex_index < 0) ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL) {
    set_error(t, "SSL_CTX_new");
    return PN_ERR_TLS;
  }
  t->ssl_ctx = ctx;
  (void)SSL_CTX_set_min_proto_version(ctx, cfg->allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* A peer that vanishes without close_notify is a closed connection (frames carry their own length). */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
    set_error(t, cfg->ca_file);
    return PN_ERR_TLS;
  }
  if (cfg->cert_file != NULL) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
      set_error(t, cfg->cert_file);
      return PN_ERR_TLS;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      set_error(t, cfg->key_file);
      return PN_ERR_TLS;
    }
  }
  if (cfg->server_name != NULL) {
    size_t len = strlen(cfg->server_name);
    if (len >= sizeof t->server_name) return PN_ERR_INVALID;
    memcpy(t->server_name, cfg->server_name, len + 1);
  }
  return PN_OK;
}

static void close_connection(void *ctx) {
  pn_openssl *t = ctx;
  if (t->ssl != NULL) {
    /* A quiet close: the peer may be gone, nothing is waited for. */
    (void)SSL_shutdown(t->ssl);
    SSL_free(t->ssl);
    t->ssl = NULL;
  }
  if (t->fd >= 0) (void)close(t->fd);
  t->fd = -1;
  t->tcp_connected = false;
  t->want_write = false;
  ERR_clear_error();
}

static pn_status transport_open(void *ctx, const char *host, uint16_t port) {
  pn_openssl *t = ctx;
  close_connection(t);
  t->error[0] = '\0';
  t->resumed = false;
  char service[8];
  (void)snprintf(service, sizeof service, "%u", (unsigned)port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  struct addrinfo *found = NULL;
  int gai = getaddrinfo(host, service, &hints, &found);
  if (gai != 0 || found == NULL) {
    (void)snprintf(t->error, sizeof t->error, "cannot resolve %s: %s", host, gai_strerror(gai));
    return PN_ERR_IO;
  }
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) {
    freeaddrinfo(found);
    set_error(t, "socket");
    return PN_ERR_IO;
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(fd, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (rc != 0 && errno != EINPROGRESS) {
    set_error(t, "connect");
    (void)close(fd);
    return PN_ERR_IO;
  }
  t->fd = fd;
  t->tcp_connected = rc == 0;
  t->want_write = true;

  SSL *ssl = SSL_new(t->ssl_ctx);
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
    if (ssl != NULL) SSL_free(ssl);
    set_error(t, "SSL_new");
    close_connection(t);
    return PN_ERR_TLS;
  }
  t->ssl = ssl;
  (void)SSL_set_ex_data(ssl, ex_index, t);
  const char *name = t->server_name[0] != '\0' ? t->server_name : host;
  unsigned char ip[16];
  bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  if (is_ip) {
    /* An address is checked against the certificate's IP SANs; SNI carries no address. */
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
      set_error(t, "server address");
      close_connection(t);
      return PN_ERR_TLS;
    }
  } else if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1) {
    set_error(t, "server name");
    close_connection(t);
    return PN_ERR_TLS;
  }
  if (t->session != NULL) (void)SSL_set_session(ssl, t->session);
  return PN_OK;
}

/* Maps an SSL_* result: PN_AGAIN for want-read/write, else the error (and its text). */
static pn_status ssl_failure(pn_openssl *t, int rc, const char *what) {
  int error = SSL_get_error(t->ssl, rc);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      t->want_write = false;
      return PN_AGAIN;
    case SSL_ERROR_WANT_WRITE:
      t->want_write = true;
      return PN_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
      (void)snprintf(t->error, sizeof t->error, "%s: the server closed the connection", what);
      return PN_ERR_CLOSED;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_last_error() == 0 && (errno == 0 || errno == ECONNRESET || errno == EPIPE)) {
        (void)snprintf(t->error, sizeof t->error, "%s: connection closed%s", what,
                       errno == ECONNRESET ? " (reset)" : "");
        ERR_clear_error();
        return PN_ERR_CLOSED;
      }
      set_error(t, what);
      return PN_ERR_IO;
    default: {
      long verify = SSL_get_verify_result(t->ssl);
      if (verify != X509_V_OK) {
        (void)snprintf(t->error, sizeof t->error, "%s: server certificate refused: %s", what,
                       X509_verify_cert_error_string(verify));
        ERR_clear_error();
      } else {
        set_error(t, what);
      }
      return PN_ERR_TLS;
    }
  }
}

static pn_status transport_handshake(void *ctx) {
  pn_openssl *t = ctx;
  if (t->ssl == NULL) return PN_ERR_IO;
  if (!t->tcp_connected) {
    struct pollfd pfd = {t->fd, POLLOUT, 0};
    int ready = poll(&pfd, 1, 0);
    if (ready == 0) return PN_AGAIN;
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (ready < 0 || getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
      errno = so_error;
      set_error(t, "connect");
      return PN_ERR_IO;
    }
    t->tcp_connected = true;
  }
  errno = 0;
  int rc = SSL_connect(t->ssl);
  if (rc == 1) {
    t->resumed = SSL_session_reused(t->ssl) == 1;
    t->want_write = false;
    return PN_OK;
  }
  return ssl_failure(t, rc, "TLS handshake");
}

static pn_status transport_send(void *ctx, const uint8_t *data, size_t len, size_t *sent) {
  pn_openssl *t = ctx;
  *sent = 0;
  if (len == 0) return PN_OK;
  size_t written = 0;
  errno = 0;
  int rc = SSL_write_ex(t->ssl, data, len, &written);
  if (rc == 1) {
    *sent = written;
    return PN_OK;
  }
  return ssl_failure(t, rc, "send");
}

static pn_status transport_recv(void *ctx, uint8_t *buf, size_t cap, size_t *received) {
  pn_openssl *t = ctx;
  *received = 0;
  size_t got = 0;
  errno = 0;
  int rc = SSL_read_ex(t->ssl, buf, cap, &got);
  if (rc == 1) {
    *received = got;
    return PN_OK;
  }
  return ssl_failure(t, rc, "receive");
}

static bool transport_resumed(void *ctx) {
  return ((pn_openssl *)ctx)->resumed;
}

static int transport_poll_fd(void *ctx, bool *want_write) {
  pn_openssl *t = ctx;
  *want_write = t->want_write || !t->tcp_connected;
  return t->fd;
}

pn_transport pn_openssl_transport(pn_openssl *t) {
  pn_transport transport = {t,
                            transport_open,
                            transport_handshake,
                            transport_send,
                            transport_recv,
                            close_connection,
                            transport_resumed,
                            transport_poll_fd};
  return transport;
}

const char *pn_openssl_error(const pn_openssl *t) {
  return t->error;
}

void pn_openssl_free(pn_openssl *t) {
  close_connection(t);
  if (t->session != NULL) SSL_SESSION_free(t->session);
  t->session = NULL;
  if (t->ssl_ctx != NULL) SSL_CTX_free(t->ssl_ctx);
  t->ssl_ctx = NULL;
}
