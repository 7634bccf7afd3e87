/* The tick-driven device client (see pn_client.h). */
#include "paynet/pn_client.h"

#include <string.h>

/* Frames handled per tick before the client yields (returns 0: tick again at once). */
#define PN_FRAMES_PER_TICK 16u
#define PN_FOREVER UINT32_MAX

static uint32_t or_default(uint32_t value, uint32_t fallback) {
  return value == 0 ? fallback : value;
}

pn_status pn_client_init(pn_client *c, const pn_client_config *cfg, const pn_client_hooks *hooks, void *user,
                         pn_transport transport, uint8_t *rx, size_t rx_cap, uint8_t *tx, size_t tx_cap) {
  if (cfg == NULL || hooks == NULL || cfg->host == NULL || cfg->random == NULL || hooks->login_type == 0 ||
      hooks->build_login == NULL || hooks->login_reply == NULL || transport.open == NULL ||
      transport.handshake == NULL || transport.send == NULL || transport.recv == NULL ||
      transport.close == NULL || tx_cap <= PN_FRAME_HEADER_SIZE || (rx == NULL && rx_cap > 0) || tx == NULL) {
    return PN_ERR_INVALID;
  }
  memset(c, 0, sizeof *c);
  c->cfg = *cfg;
  c->cfg.connect_timeout_ms = or_default(cfg->connect_timeout_ms, 15000u);
  c->cfg.login_timeout_ms = or_default(cfg->login_timeout_ms, 10000u);
  c->cfg.heartbeat_interval_ms = or_default(cfg->heartbeat_interval_ms, 60000u);
  c->cfg.heartbeat_timeout_ms =
      or_default(cfg->heartbeat_timeout_ms, 2u * c->cfg.heartbeat_interval_ms + 10000u);
  c->cfg.backoff_initial_ms = or_default(cfg->backoff_initial_ms, 1000u);
  c->cfg.backoff_max_ms = or_default(cfg->backoff_max_ms, 64000u);
  c->cfg.backoff_spread_ms = or_default(cfg->backoff_spread_ms, 5u * c->cfg.backoff_initial_ms);
  c->cfg.stable_after_ms = or_default(cfg->stable_after_ms, 30000u);
  c->cfg.io_poll_ms = or_default(cfg->io_poll_ms, 20u);
  c->hooks = hooks;
  c->user = user;
  c->transport = transport;
  pn_frame_reader_init(&c->reader, rx, rx_cap);
  c->tx = tx;
  c->tx_cap = tx_cap;
  pn_backoff_init(&c->backoff, c->cfg.backoff_initial_ms, c->cfg.backoff_max_ms, c->cfg.backoff_spread_ms,
                  cfg->random, cfg->random_ctx);
  c->state = PN_STATE_IDLE;
  return PN_OK;
}

static void emit(pn_client *c, pn_event_kind kind, pn_status reason, uint32_t delay_ms) {
  if (c->hooks->event == NULL) return;
  pn_event event = {kind, reason, c->attempt, delay_ms, c->resumed};
  c->hooks->event(c, &event);
}

static uint32_t until(uint64_t now, uint64_t deadline) {
  if (deadline <= now) return 0;
  uint64_t left = deadline - now;
  return left > (uint64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

static uint32_t min_u32(uint32_t a, uint32_t b) {
  return a < b ? a : b;
}

static void close_link(pn_client *c) {
  if (c->transport_open) c->transport.close(c->transport.ctx);
  c->transport_open = false;
  pn_frame_reader_reset(&c->reader);
  c->tx_len = 0;
  c->tx_sent = 0;
  c->tx_blocked = false;
}

/* The connection or attempt ended: close it and wait a backoff delay before the next. */
static void go_offline(pn_client *c, pn_status reason) {
  bool was_online = c->state == PN_STATE_ONLINE;
  close_link(c);
  emit(c, PN_EVENT_OFFLINE, reason, 0);
  if (c->state == PN_STATE_STOPPED) return; /* an event hook stopped the client */
  if (was_online) {
    /* Only a session that stayed up resets the backoff: one that keeps ending right after login
     * (two boxes sharing an identity) slows down like a failed attempt. */
    if (c->now - c->online_since >= c->cfg.stable_after_ms) {
      pn_backoff_reset(&c->backoff);
      c->attempt = 0;
      emit(c, PN_EVENT_BACKOFF_RESET, PN_OK, 0);
    }
    pn_backoff_session_lost(&c->backoff);
  }
  uint32_t delay = pn_backoff_next(&c->backoff);
  c->state = PN_STATE_BACKOFF;
  c->deadline = c->now + delay;
  emit(c, PN_EVENT_BACKOFF, reason, delay);
}

void pn_client_start(pn_client *c, uint64_t now_ms) {
  c->now = now_ms;
  c->state = PN_STATE_BACKOFF;
  c->deadline = now_ms;
}

void pn_client_stop(pn_client *c) {
  close_link(c);
  c->state = PN_STATE_STOPPED;
}

bool pn_client_online(const pn_client *c) {
  return c->state == PN_STATE_ONLINE;
}

pn_client_state pn_client_state_of(const pn_client *c) {
  return c->state;
}

int pn_client_poll_fd(const pn_client *c, bool *want_write) {
  *want_write = false;
  if (!c->transport_open || c->transport.poll_fd == NULL) return -1;
  int fd = c->transport.poll_fd(c->transport.ctx, want_write);
  /* Unsent bytes wait for the socket to drain. */
  if (c->tx_blocked) *want_write = true;
  return fd;
}

/* ---- outbound -------------------------------------------------------------------------------- */

/*
 * Makes room for a frame header and returns a writer over the free part of the send buffer.
 * Already sent bytes are dropped from its front first (the transport accepts a moved buffer).
 */
static void begin_frame(pn_client *c, pn_writer *w) {
  if (c->tx_sent > 0) {
    memmove(c->tx, c->tx + c->tx_sent, c->tx_len - c->tx_sent);
    c->tx_len -= c->tx_sent;
    c->tx_sent = 0;
  }
  size_t free_bytes = c->tx_cap - c->tx_len;
  if (free_bytes < PN_FRAME_HEADER_SIZE) free_bytes = PN_FRAME_HEADER_SIZE;
  pn_writer_init(w, c->tx + c->tx_len + PN_FRAME_HEADER_SIZE, free_bytes - PN_FRAME_HEADER_SIZE);
}

static pn_status end_frame(pn_client *c, uint8_t type, const pn_writer *w, pn_status encoded) {
  if (encoded == PN_ERR_OVERFLOW) {
    /* Queued frames leave room later; a frame larger than the whole buffer never fits. */
    return c->tx_len > 0 ? PN_ERR_QUEUE_FULL : PN_ERR_OVERFLOW;
  }
  if (encoded != PN_OK) return encoded;
  if (c->tx_cap - c->tx_len < PN_FRAME_HEADER_SIZE + w->len) return PN_ERR_QUEUE_FULL;
  pn_frame_header(c->tx + c->tx_len, type, (uint32_t)w->len);
  c->tx_len += PN_FRAME_HEADER_SIZE + w->len;
  return PN_OK;
}

pn_status pn_client_send(pn_client *c, uint8_t type, pn_encode_fn encode, const void *message) {
  if (c->state != PN_STATE_ONLINE) return PN_ERR_NOT_CONNECTED;
  pn_writer w;
  begin_frame(c, &w);
  return end_frame(c, type, &w, encode(message, &w));
}

pn_status pn_client_send_raw(pn_client *c, uint8_t type, const uint8_t *payload, size_t len) {
  if (c->state != PN_STATE_ONLINE) return PN_ERR_NOT_CONNECTED;
  pn_writer w;
  begin_frame(c, &w);
  return end_frame(c, type, &w, pn_write_raw(&w, payload, len));
}

static pn_status flush(pn_client *c) {
  while (c->tx_sent < c->tx_len) {
    size_t sent = 0;
    pn_status status = c->transport.send(c->transport.ctx, c->tx + c->tx_sent, c->tx_len - c->tx_sent, &sent);
    if (status == PN_AGAIN || (status == PN_OK && sent == 0)) {
      c->tx_blocked = true;
      return PN_OK;
    }
    if (status != PN_OK) return status;
    c->tx_sent += sent;
  }
  c->tx_len = 0;
  c->tx_sent = 0;
  c->tx_blocked = false;
  return PN_OK;
}

/* ---- login flow ------------------------------------------------------------------------------ */

static pn_status send_login(pn_client *c) {
  pn_writer w;
  begin_frame(c, &w);
  pn_status status = end_frame(c, c->hooks->login_type, &w, c->hooks->build_login(c, &w));
  if (status != PN_OK) return status;
  c->state = PN_STATE_LOGGING_IN;
  c->deadline = c->now + c->cfg.login_timeout_ms;
  emit(c, PN_EVENT_LOGGING_IN, PN_OK, 0);
  return PN_OK;
}

static pn_status start_session(pn_client *c) {
  c->resumed = c->transport.resumed != NULL && c->transport.resumed(c->transport.ctx);
  c->last_received = c->now;
  emit(c, PN_EVENT_CONNECTED, PN_OK, 0);
  if (c->state == PN_STATE_STOPPED) return PN_ERR_STOPPED;
  if (c->hooks->register_type == 0 || c->hooks->build_register == NULL) return send_login(c);
  pn_writer w;
  begin_frame(c, &w);
  pn_status status = end_frame(c, c->hooks->register_type, &w, c->hooks->build_register(c, &w));
  if (status != PN_OK) return status;
  c->state = PN_STATE_REGISTERING;
  c->deadline = c->now + c->cfg.login_timeout_ms;
  emit(c, PN_EVENT_REGISTERING, PN_OK, 0);
  return PN_OK;
}

static void go_online(pn_client *c) {
  c->state = PN_STATE_ONLINE;
  c->online_since = c->now;
  c->next_heartbeat = c->now + c->cfg.heartbeat_interval_ms;
  emit(c, PN_EVENT_ONLINE, PN_OK, 0);
}

/* One complete inbound frame; an error ends the connection. */
static pn_status on_frame(pn_client *c, pn_frame frame) {
  if (c->state == PN_STATE_REGISTERING && frame.type == c->hooks->register_reply_type) {
    pn_status status = c->hooks->register_reply(c, frame.payload, frame.len);
    return status == PN_OK ? send_login(c) : status;
  }
  if (c->state == PN_STATE_LOGGING_IN && frame.type == c->hooks->login_reply_type) {
    pn_status status = c->hooks->login_reply(c, frame.payload, frame.len);
    if (status != PN_OK) return status;
    go_online(c);
    return PN_OK;
  }
  if (c->hooks->frame != NULL) c->hooks->frame(c, frame.type, frame.payload, frame.len);
  return PN_OK;
}

/* ---- connected states ------------------------------------------------------------------------ */

/* Reads what the transport has. PN_AGAIN: frames may still be waiting (tick again at once). */
static pn_status receive(pn_client *c) {
  unsigned frames = 0;
  while (frames < PN_FRAMES_PER_TICK) {
    uint8_t *dst;
    size_t max;
    pn_frame_reader_space(&c->reader, &dst, &max);
    size_t received = 0;
    pn_status status = c->transport.recv(c->transport.ctx, dst, max, &received);
    if (status == PN_AGAIN || (status == PN_OK && received == 0)) return PN_OK;
    if (status != PN_OK) return status;
    c->last_received = c->now;
    bool ready;
    status = pn_frame_reader_commit(&c->reader, received, &ready);
    if (status != PN_OK) return status;
    if (!ready) continue;
    frames++;
    status = on_frame(c, pn_frame_reader_frame(&c->reader));
    if (status != PN_OK) return status;
    if (c->state == PN_STATE_STOPPED) return PN_OK;
  }
  return PN_AGAIN;
}

static pn_status send_heartbeat(pn_client *c) {
  if (c->hooks->heartbeat_type == 0 || c->hooks->build_heartbeat == NULL) return PN_OK;
  pn_writer w;
  begin_frame(c, &w);
  pn_status status = end_frame(c, c->hooks->heartbeat_type, &w, c->hooks->build_heartbeat(c, &w, c->now));
  /* A full send buffer only delays this heartbeat; the dead-peer check is what ends a link. */
  if (status == PN_ERR_QUEUE_FULL) return PN_OK;
  if (status == PN_OK) emit(c, PN_EVENT_HEARTBEAT, PN_OK, 0);
  return status;
}

/* Registering, logging in or online: I/O and timers. Returns the sleep; may go offline. */
static uint32_t connected_step(pn_client *c) {
  pn_status status = flush(c);
  pn_status more = PN_OK;
  if (status == PN_OK) {
    more = receive(c);
    if (more != PN_OK && more != PN_AGAIN) status = more;
  }
  if (c->state == PN_STATE_STOPPED) return PN_FOREVER;
  if (status == PN_OK) status = flush(c); /* replies queued by the frames just handled */
  if (status != PN_OK) {
    go_offline(c, status);
    return 0;
  }
  uint32_t sleep;
  if (c->state == PN_STATE_ONLINE) {
    uint64_t dead_at = c->last_received + c->cfg.heartbeat_timeout_ms;
    if (c->now >= dead_at) {
      go_offline(c, PN_ERR_HEARTBEAT_TIMEOUT);
      return 0;
    }
    if (c->now >= c->next_heartbeat) {
      c->next_heartbeat = c->now + c->cfg.heartbeat_interval_ms;
      status = send_heartbeat(c);
      if (status == PN_OK) status = flush(c);
      if (status != PN_OK) {
        go_offline(c, status);
        return 0;
      }
    }
    sleep = min_u32(until(c->now, c->next_heartbeat), until(c->now, dead_at));
  } else {
    if (c->now >= c->deadline) {
      go_offline(c, PN_ERR_LOGIN_TIMEOUT);
      return 0;
    }
    sleep = until(c->now, c->deadline);
  }
  if (more == PN_AGAIN) return 0;
  return c->transport.poll_fd == NULL ? min_u32(sleep, c->cfg.io_poll_ms) : sleep;
}

static uint32_t connecting_step(pn_client *c) {
  pn_status status = c->transport.handshake(c->transport.ctx);
  if (status == PN_OK) {
    status = start_session(c);
    if (status == PN_ERR_STOPPED) return PN_FOREVER;
    if (status != PN_OK) go_offline(c, status);
    return 0;
  }
  if (status != PN_AGAIN) {
    go_offline(c, status);
    return 0;
  }
  if (c->now >= c->deadline) {
    go_offline(c, PN_ERR_CONNECT_TIMEOUT);
    return 0;
  }
  uint32_t sleep = until(c->now, c->deadline);
  return c->transport.poll_fd == NULL ? min_u32(sleep, c->cfg.io_poll_ms) : sleep;
}

static void begin_attempt(pn_client *c) {
  c->attempt++;
  c->resumed = false;
  emit(c, PN_EVENT_CONNECTING, PN_OK, 0);
  if (c->state == PN_STATE_STOPPED) return;
  pn_status status = c->transport.open(c->transport.ctx, c->cfg.host, c->cfg.port);
  if (status != PN_OK && status != PN_AGAIN) {
    go_offline(c, status);
    return;
  }
  c->transport_open = true;
  c->state = PN_STATE_CONNECTING;
  c->deadline = c->now + c->cfg.connect_timeout_ms;
}

uint32_t pn_client_tick(pn_client *c, uint64_t now_ms) {
  if (now_ms > c->now) c->now = now_ms;
  /* Steps that lead straight into the next (backoff over -> connect -> handshake done) run now. */
  for (unsigned step = 0; step < 8; step++) {
    uint32_t sleep;
    switch (c->state) {
      case PN_STATE_IDLE:
      case PN_STATE_STOPPED:
        return PN_FOREVER;
      case PN_STATE_BACKOFF:
        if (c->now < c->deadline) return until(c->now, c->deadline);
        begin_attempt(c);
        continue;
      case PN_STATE_CONNECTING:
        sleep = connecting_step(c);
        break;
      case PN_STATE_REGISTERING:
      case PN_STATE_LOGGING_IN:
      case PN_STATE_ONLINE:
        sleep = connected_step(c);
        break;
      default:
        return PN_FOREVER;
    }
    if (sleep > 0) return sleep;
  }
  return 0;
}
