/*
 * The device client: one connection to the cloud, driven by pn_client_tick(now_ms) from the
 * application's main loop. Each tick does what is due and returns how long the caller may sleep:
 *
 *   BACKOFF -> CONNECTING (transport open + TLS handshake) -> REGISTERING -> LOGGING_IN -> ONLINE
 *      ^                                                                                   |
 *      +------------- any failure or drop: close, full-jitter delay, retry ----------------+
 *
 * Online, it sends a heartbeat every heartbeat_interval_ms and takes the peer as dead when nothing
 * arrived for heartbeat_timeout_ms. The backoff goes back to its initial delay only after a
 * session stayed online for stable_after_ms, so two boxes fighting over one identity (each login
 * replacing the other's session) back off instead of flapping.
 *
 * The client knows frames, not messages: the generated SDK gives it hooks that build the
 * register/login/heartbeat requests, judge their replies and dispatch every other frame. Buffers
 * (receive and send) belong to the caller; nothing is allocated.
 */
#ifndef PAYNET_PN_CLIENT_H
#define PAYNET_PN_CLIENT_H

#include "pn.h"
#include "pn_backoff.h"
#include "pn_frame.h"
#include "pn_transport.h"
#include "pn_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_client pn_client;

typedef enum pn_client_state {
  PN_STATE_IDLE = 0,
  PN_STATE_BACKOFF,
  PN_STATE_CONNECTING,
  PN_STATE_REGISTERING,
  PN_STATE_LOGGING_IN,
  PN_STATE_ONLINE,
  PN_STATE_STOPPED
} pn_client_state;

typedef enum pn_event_kind {
  /** An attempt starts (attempt counts from 1 since the last success). */
  PN_EVENT_CONNECTING,
  /** TLS is up (resumed: an earlier session was resumed). */
  PN_EVENT_CONNECTED,
  /** The register request was sent. */
  PN_EVENT_REGISTERING,
  /** The login request was sent. */
  PN_EVENT_LOGGING_IN,
  /** Logged in: messages flow. */
  PN_EVENT_ONLINE,
  /** The connection (or attempt) ended; reason says why. */
  PN_EVENT_OFFLINE,
  /** The next attempt starts in delay_ms. */
  PN_EVENT_BACKOFF,
  /** A heartbeat was sent. */
  PN_EVENT_HEARTBEAT,
  /** The backoff went back to its initial delay (the session had stayed up). */
  PN_EVENT_BACKOFF_RESET
} pn_event_kind;

typedef struct pn_event {
  pn_event_kind kind;
  pn_status reason;
  uint32_t attempt;
  uint32_t delay_ms;
  bool resumed;
} pn_event;

/** What the generated SDK plugs into the client. Types of 0 mean "no such step". */
typedef struct pn_client_hooks {
  uint8_t register_type;
  uint8_t register_reply_type;
  uint8_t login_type;
  uint8_t login_reply_type;
  uint8_t heartbeat_type;
  /** Writes the payload of the register / login / heartbeat request. */
  pn_status (*build_register)(pn_client *c, pn_writer *w);
  pn_status (*build_login)(pn_client *c, pn_writer *w);
  pn_status (*build_heartbeat)(pn_client *c, pn_writer *w, uint64_t now_ms);
  /** Judges a register / login reply: PN_OK accepted, PN_ERR_LOGIN_REFUSED, or a decode error. */
  pn_status (*register_reply)(pn_client *c, const uint8_t *payload, size_t len);
  pn_status (*login_reply)(pn_client *c, const uint8_t *payload, size_t len);
  /** Every other frame (online, and the error role before it). Never closes the link by itself. */
  void (*frame)(pn_client *c, uint8_t type, const uint8_t *payload, size_t len);
  /** Optional: what happened (one log line per step). */
  void (*event)(pn_client *c, const pn_event *event);
} pn_client_hooks;

typedef struct pn_client_config {
  const char *host;
  uint16_t port;
  /** TCP connect + TLS handshake (default 15000). */
  uint32_t connect_timeout_ms;
  /** Wait for each of the register and login replies (default 10000). */
  uint32_t login_timeout_ms;
  /** Heartbeat period once online (default 60000). */
  uint32_t heartbeat_interval_ms;
  /** Nothing received for this long: the peer is dead (default 2 * interval + 10000). */
  uint32_t heartbeat_timeout_ms;
  /** Reconnect delays: initial (default 1000), cap (default 64000). */
  uint32_t backoff_initial_ms;
  uint32_t backoff_max_ms;
  /**
   * After a session was lost, however young, every attempt until the next login waits uniformly in
   * [0, spread] while the backoff step is shorter than spread (default 5 * initial).
   */
  uint32_t backoff_spread_ms;
  /** The backoff resets only after a session stayed online this long (default 30000). */
  uint32_t stable_after_ms;
  /**
   * Longest sleep pn_client_tick asks for while waiting for I/O on a transport without poll_fd
   * (default 20): such a caller cannot wake up when bytes arrive, so it looks again this often.
   */
  uint32_t io_poll_ms;
  /** Random source of the jitter (required). */
  pn_random_fn random;
  void *random_ctx;
} pn_client_config;

struct pn_client {
  pn_client_config cfg;
  const pn_client_hooks *hooks;
  /** The application's pointer (the generated device object). */
  void *user;
  pn_transport transport;
  pn_frame_reader reader;
  uint8_t *tx;
  size_t tx_cap;
  size_t tx_len;
  size_t tx_sent;
  pn_client_state state;
  pn_backoff backoff;
  uint64_t now;
  /** Deadline of the current state (backoff end, connect/login timeout). */
  uint64_t deadline;
  uint64_t last_received;
  uint64_t next_heartbeat;
  uint64_t online_since;
  uint32_t attempt;
  bool transport_open;
  bool resumed;
  bool tx_blocked;
};

/**
 * Prepares a client. rx (rx_cap bytes) holds one inbound frame payload: larger frames close the
 * link with PN_ERR_FRAME_TOO_LARGE. tx (tx_cap bytes) queues outbound frames, headers included.
 * Zero timings take their defaults. PN_ERR_INVALID without a host, random source or hooks.
 */
pn_status pn_client_init(pn_client *c, const pn_client_config *cfg, const pn_client_hooks *hooks, void *user,
                         pn_transport transport, uint8_t *rx, size_t rx_cap, uint8_t *tx, size_t tx_cap);
/** Starts connecting on the next tick. */
void pn_client_start(pn_client *c, uint64_t now_ms);
/**
 * Does what is due at now_ms (a monotonic clock in milliseconds): I/O, state steps, timers.
 * Returns how many milliseconds the caller may sleep before the next tick; wait on
 * pn_client_poll_fd meanwhile to wake up early for I/O. 0: call again at once.
 */
uint32_t pn_client_tick(pn_client *c, uint64_t now_ms);
/** Closes the connection and stays stopped. */
void pn_client_stop(pn_client *c);
/** Whether the client is logged in. */
bool pn_client_online(const pn_client *c);
pn_client_state pn_client_state_of(const pn_client *c);
/** The socket to wait on until the next tick (-1: none, just sleep) and whether for writing. */
int pn_client_poll_fd(const pn_client *c, bool *want_write);

/** Writes a message payload into a writer (a generated encoder with its message). */
typedef pn_status (*pn_encode_fn)(const void *message, pn_writer *w);

/**
 * Queues one frame of `type` whose payload `encode` writes from `message`; sent on the next ticks.
 * PN_ERR_NOT_CONNECTED unless online; PN_ERR_QUEUE_FULL when the send buffer has no room now; the
 * encoder's error (PN_ERR_BOUND, ...) as it is. Nothing is queued on an error.
 */
pn_status pn_client_send(pn_client *c, uint8_t type, pn_encode_fn encode, const void *message);
/** pn_client_send of an already encoded payload. */
pn_status pn_client_send_raw(pn_client *c, uint8_t type, const uint8_t *payload, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_CLIENT_H */
