/*
 * Test doubles of the two platform interfaces: a scripted transport (what "the server" sent is
 * queued as bytes; what the client sent is captured) and storage in memory (with a power-cut
 * switch that tears the next write), and random sources for the backoff's jitter. Used by the
 * runtime's and the generated SDK's C tests.
 */
#ifndef PN_TEST_FAKES_H
#define PN_TEST_FAKES_H

#include <paynet/pn_frame.h>
#include <paynet/pn_record.h>
#include <paynet/pn_transport.h>
#include <string.h>

#define FAKE_BUFFER 8192u

typedef struct fake_transport {
  pn_status open_result;
  /** Handshake calls answered PN_AGAIN before the handshake result. */
  unsigned handshake_waits;
  pn_status handshake_result;
  bool resumed;
  /** Bytes the peer sent, not read yet: inbound[in_pos, in_len). */
  uint8_t inbound[FAKE_BUFFER];
  size_t in_len;
  size_t in_pos;
  /** After the inbound bytes: the peer closed (else PN_AGAIN). */
  bool peer_closed;
  /** Bytes the client sent. */
  uint8_t outbound[FAKE_BUFFER];
  size_t out_len;
  /** Most bytes one send takes (0: all); sends refused with PN_AGAIN while blocked. */
  size_t send_limit;
  bool send_blocked;
  unsigned opens;
  unsigned closes;
  unsigned waits_left;
  bool open;
} fake_transport;

static inline pn_status fake_open(void *ctx, const char *host, uint16_t port) {
  fake_transport *t = ctx;
  (void)host;
  (void)port;
  t->opens++;
  if (t->open_result != PN_OK) return t->open_result;
  t->open = true;
  t->waits_left = t->handshake_waits;
  return PN_OK;
}

static inline pn_status fake_handshake(void *ctx) {
  fake_transport *t = ctx;
  if (t->waits_left > 0) {
    t->waits_left--;
    return PN_AGAIN;
  }
  return t->handshake_result;
}

static inline pn_status fake_send(void *ctx, const uint8_t *data, size_t len, size_t *sent) {
  fake_transport *t = ctx;
  *sent = 0;
  if (t->send_blocked) return PN_AGAIN;
  size_t n = t->send_limit != 0 && len > t->send_limit ? t->send_limit : len;
  if (n > FAKE_BUFFER - t->out_len) n = FAKE_BUFFER - t->out_len;
  memcpy(t->outbound + t->out_len, data, n);
  t->out_len += n;
  *sent = n;
  return n == 0 ? PN_AGAIN : PN_OK;
}

static inline pn_status fake_recv(void *ctx, uint8_t *buf, size_t cap, size_t *received) {
  fake_transport *t = ctx;
  *received = 0;
  if (t->in_pos == t->in_len) return t->peer_closed ? PN_ERR_CLOSED : PN_AGAIN;
  size_t n = t->in_len - t->in_pos < cap ? t->in_len - t->in_pos : cap;
  memcpy(buf, t->inbound + t->in_pos, n);
  t->in_pos += n;
  *received = n;
  return PN_OK;
}

static inline void fake_close(void *ctx) {
  fake_transport *t = ctx;
  t->closes++;
  t->open = false;
}

static inline bool fake_resumed(void *ctx) {
  return ((fake_transport *)ctx)->resumed;
}

/** The socket a fake transport names when a test gives it one (see fake_poll_fd). */
#define FAKE_FD 3

static inline int fake_poll_fd(void *ctx, bool *want_write) {
  fake_transport *t = ctx;
  *want_write = false;
  return t->open ? FAKE_FD : -1;
}

static inline pn_transport fake_transport_of(fake_transport *t) {
  pn_transport transport = {t, fake_open, fake_handshake, fake_send, fake_recv, fake_close, fake_resumed, NULL};
  return transport;
}

/** Queues a frame the peer sends. */
static inline void fake_peer_sends(fake_transport *t, uint8_t type, const uint8_t *payload, size_t len) {
  pn_frame_header(t->inbound + t->in_len, type, (uint32_t)len);
  t->in_len += PN_FRAME_HEADER_SIZE;
  if (len > 0) memcpy(t->inbound + t->in_len, payload, len);
  t->in_len += len;
}

/** Queues raw bytes the peer sends. */
static inline void fake_peer_sends_raw(fake_transport *t, const uint8_t *bytes, size_t len) {
  memcpy(t->inbound + t->in_len, bytes, len);
  t->in_len += len;
}

/** The index-th frame the client sent (0-based): its type, payload and length; false when absent. */
static inline bool fake_sent_frame(const fake_transport *t, unsigned index, uint8_t *type, const uint8_t **payload,
                            size_t *len) {
  size_t pos = 0;
  for (unsigned i = 0;; i++) {
    if (t->out_len - pos < PN_FRAME_HEADER_SIZE) return false;
    const uint8_t *h = t->outbound + pos;
    uint32_t frame_len = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
    if (t->out_len - pos - 4u < frame_len) return false;
    if (i == index) {
      *type = h[4];
      *payload = h + PN_FRAME_HEADER_SIZE;
      *len = frame_len - 1u;
      return true;
    }
    pos += 4u + frame_len;
  }
}

/** Frames the client sent so far. */
static inline unsigned fake_sent_count(const fake_transport *t) {
  unsigned n = 0;
  uint8_t type;
  const uint8_t *payload;
  size_t len;
  while (fake_sent_frame(t, n, &type, &payload, &len)) n++;
  return n;
}

typedef struct memory_storage {
  uint8_t bytes[65536];
  /** The next write stops after this many bytes (a power cut); 0: writes complete. */
  size_t tear_after;
  bool fail_writes;
  unsigned writes;
} memory_storage;

static inline pn_status memory_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len) {
  memory_storage *s = ctx;
  if ((size_t)offset + len > sizeof s->bytes) return PN_ERR_STORAGE;
  memcpy(buf, s->bytes + offset, len);
  return PN_OK;
}

static inline pn_status memory_write(void *ctx, uint32_t offset, const uint8_t *buf, size_t len) {
  memory_storage *s = ctx;
  if (s->fail_writes || (size_t)offset + len > sizeof s->bytes) return PN_ERR_STORAGE;
  s->writes++;
  if (s->tear_after != 0 && s->tear_after < len) {
    memcpy(s->bytes + offset, buf, s->tear_after);
    s->tear_after = 0;
    return PN_ERR_STORAGE;
  }
  memcpy(s->bytes + offset, buf, len);
  return PN_OK;
}

static inline pn_storage memory_storage_of(memory_storage *s) {
  pn_storage storage = {s, memory_read, memory_write};
  return storage;
}

/* ---- random sources (the backoff's jitter) ---- */

static inline uint32_t random_max(void *ctx) {
  (void)ctx;
  return UINT32_MAX;
}

static inline uint32_t random_zero(void *ctx) {
  (void)ctx;
  return 0;
}

/* A fixed sequence of random words. */
typedef struct sequence {
  const uint32_t *words;
  size_t count;
  size_t next;
} sequence;

static inline uint32_t random_sequence(void *ctx) {
  sequence *s = ctx;
  uint32_t word = s->words[s->next % s->count];
  s->next++;
  return word;
}

#endif
