/*
 * Unit tests of the paynet C client's state machine with a fake transport and clock: the login flow
 * (register, login, online), heartbeats and dead-peer detection, login and handshake timeouts, the
 * backoff sequence with its cap and its reset only after a session stayed up, the reconnects after
 * a session's loss (however young) spread over the spread window, an oversize Len or
 * Len 0 closing the link, partial writes and a full send buffer, stop, and tick returning exactly
 * the time until its next deadline. Built and run by test/c/runtime.test.ts under ASan/UBSan and
 * under valgrind.
 */
#include <paynet/pn_client.h>
#include <paynet/pn_frame.h>
#include <paynet/pn_wire.h>

#include "check.h"
#include "fakes.h"

/* ---- client ---------------------------------------------------------------------------------------- */

#define T_REGISTER 0x01
#define T_REGISTER_RSP 0x81
#define T_LOGIN 0x02
#define T_LOGIN_RSP 0x82
#define T_PING 0x03
#define T_PONG 0x83
#define T_COMMAND 0x04

typedef struct recorder {
  pn_event events[256];
  unsigned count;
  unsigned frames;
  uint8_t last_type;
} recorder;

static pn_status build_register(pn_client *c, pn_writer *w) {
  (void)c;
  return pn_write_raw(w, (const uint8_t *)"reg", 3);
}

static pn_status build_login(pn_client *c, pn_writer *w) {
  (void)c;
  return pn_write_raw(w, (const uint8_t *)"login", 5);
}

static pn_status build_heartbeat(pn_client *c, pn_writer *w, uint64_t now_ms) {
  (void)c;
  return pn_write_varint(w, now_ms);
}

/* A reply's first byte is its code: 0 accepted. */
static pn_status judge(pn_client *c, const uint8_t *payload, size_t len) {
  (void)c;
  return len > 0 && payload[0] == 0 ? PN_OK : PN_ERR_LOGIN_REFUSED;
}

static void on_frame(pn_client *c, uint8_t type, const uint8_t *payload, size_t len) {
  recorder *r = c->user;
  (void)payload;
  (void)len;
  r->frames++;
  r->last_type = type;
}

static void on_event(pn_client *c, const pn_event *event) {
  recorder *r = c->user;
  if (r->count < 256) r->events[r->count++] = *event;
}

static const pn_client_hooks hooks = {T_REGISTER, T_REGISTER_RSP, T_LOGIN,  T_LOGIN_RSP, T_PING, build_register,
                                      build_login, build_heartbeat, judge,   judge,       on_frame, on_event};

typedef struct rig {
  pn_client client;
  fake_transport transport;
  recorder recorder;
  uint8_t rx[64];
  uint8_t tx[256];
  uint64_t now;
} rig;

/* The rig's timings: short, so tests run through whole sequences of fake time. */
static void rig_config(pn_client_config *cfg, pn_random_fn random) {
  memset(cfg, 0, sizeof *cfg);
  cfg->host = "127.0.0.1";
  cfg->port = 9443;
  cfg->heartbeat_interval_ms = 1000;
  cfg->heartbeat_timeout_ms = 3000;
  cfg->login_timeout_ms = 500;
  cfg->connect_timeout_ms = 700;
  cfg->stable_after_ms = 10000;
  cfg->random = random;
}

/* with_fd: the transport names a socket to wait on, so the client never polls on its own. */
static void rig_start(rig *r, const pn_client_config *cfg, bool with_fd) {
  memset(r, 0, sizeof *r);
  r->transport.handshake_result = PN_OK;
  pn_transport transport = fake_transport_of(&r->transport);
  if (with_fd) transport.poll_fd = fake_poll_fd;
  CHECK_EQ(pn_client_init(&r->client, cfg, &hooks, &r->recorder, transport, r->rx, sizeof r->rx, r->tx, sizeof r->tx),
           PN_OK);
  r->now = 1000;
  pn_client_start(&r->client, r->now);
}

static void rig_setup(rig *r, pn_random_fn random, bool with_fd) {
  pn_client_config cfg;
  rig_config(&cfg, random);
  rig_start(r, &cfg, with_fd);
}

static void rig_init(rig *r, pn_random_fn random) {
  rig_setup(r, random, false);
}

/* Ticks until `ms` of fake time passed, sleeping as long as the client asks (at most to the end). */
static void run_for(rig *r, uint64_t ms) {
  uint64_t end = r->now + ms;
  for (unsigned guard = 0; guard < 100000; guard++) {
    uint32_t sleep = pn_client_tick(&r->client, r->now);
    if (r->now >= end) return;
    uint64_t step = sleep == 0 ? 0 : sleep;
    if (step == 0) continue;
    r->now = r->now + step > end ? end : r->now + step;
  }
}

/* Ticks (sleeping as asked) until the transport is opened once more. */
static void run_to_next_attempt(rig *r) {
  unsigned opens = r->transport.opens;
  for (unsigned guard = 0; guard < 100000 && r->transport.opens == opens; guard++) {
    uint32_t sleep = pn_client_tick(&r->client, r->now);
    if (r->transport.opens == opens) r->now += sleep;
  }
}

static unsigned count_events(const recorder *r, pn_event_kind kind) {
  unsigned n = 0;
  for (unsigned i = 0; i < r->count; i++) n += r->events[i].kind == kind;
  return n;
}

static const pn_event *last_event(const recorder *r, pn_event_kind kind) {
  for (unsigned i = r->count; i > 0; i--)
    if (r->events[i - 1].kind == kind) return &r->events[i - 1];
  return NULL;
}

static const uint8_t OK_REPLY[] = {0};
static const uint8_t REFUSED_REPLY[] = {2};

static void bring_online(rig *r) {
  run_for(r, 0);
  fake_peer_sends(&r->transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(r, 0);
  fake_peer_sends(&r->transport, T_LOGIN_RSP, OK_REPLY, 1);
  run_for(r, 0);
}

static void login_flow_registers_then_logs_in_and_goes_online(void) {
  rig r;
  rig_init(&r, random_max);
  run_for(&r, 0);
  CHECK_EQ(r.transport.opens, 1);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_REGISTERING);
  uint8_t type;
  const uint8_t *payload;
  size_t len;
  CHECK(fake_sent_frame(&r.transport, 0, &type, &payload, &len));
  CHECK_EQ(type, T_REGISTER);
  CHECK(len == 3 && memcmp(payload, "reg", 3) == 0);
  /* Nothing but the login reply moves it on: sends before login are refused. */
  CHECK_EQ(pn_client_send_raw(&r.client, T_COMMAND, OK_REPLY, 1), PN_ERR_NOT_CONNECTED);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_LOGGING_IN);
  CHECK(fake_sent_frame(&r.transport, 1, &type, &payload, &len));
  CHECK_EQ(type, T_LOGIN);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK(pn_client_online(&r.client));
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_ONLINE), 1);
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_CONNECTED), 1);
  /* Online frames reach the dispatcher. */
  fake_peer_sends(&r.transport, T_COMMAND, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK_EQ(r.recorder.frames, 1);
  CHECK_EQ(r.recorder.last_type, T_COMMAND);
}

static void heartbeats_go_out_every_interval_and_a_silent_peer_is_dead(void) {
  rig r;
  rig_init(&r, random_max);
  bring_online(&r);
  unsigned before = fake_sent_count(&r.transport);
  run_for(&r, 999);
  CHECK_EQ(fake_sent_count(&r.transport), before);
  run_for(&r, 1);
  CHECK_EQ(fake_sent_count(&r.transport), before + 1);
  uint8_t type;
  const uint8_t *payload;
  size_t len;
  CHECK(fake_sent_frame(&r.transport, before, &type, &payload, &len));
  CHECK_EQ(type, T_PING);
  /* A Pong keeps the link alive past the dead-peer timeout measured from the login. */
  fake_peer_sends(&r.transport, T_PONG, NULL, 0);
  run_for(&r, 1500);
  CHECK(pn_client_online(&r.client));
  /* Then silence: 3000 ms after the last byte the peer is dead. */
  run_for(&r, 1499);
  CHECK(pn_client_online(&r.client));
  run_for(&r, 1);
  CHECK(!pn_client_online(&r.client));
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_HEARTBEAT_TIMEOUT);
  CHECK_EQ(r.transport.closes, 1);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_BACKOFF);
}

static void a_missing_login_reply_times_out(void) {
  rig r;
  rig_init(&r, random_max);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 499);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_LOGGING_IN);
  run_for(&r, 1);
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_LOGIN_TIMEOUT);
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_ONLINE), 0);
}

static void a_refused_login_goes_offline_and_retries(void) {
  rig r;
  rig_init(&r, random_max);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, REFUSED_REPLY, 1);
  run_for(&r, 0);
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_LOGIN_REFUSED);
  run_for(&r, 1000);
  CHECK_EQ(r.transport.opens, 2);
}

static void a_slow_handshake_times_out(void) {
  rig r;
  rig_init(&r, random_max);
  r.transport.handshake_waits = 1000000;
  run_for(&r, 699);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_CONNECTING);
  run_for(&r, 1);
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_CONNECT_TIMEOUT);
}

static void failed_attempts_back_off_exponentially_to_the_cap(void) {
  rig r;
  rig_init(&r, random_max);
  r.transport.open_result = PN_ERR_IO;
  run_for(&r, 600000);
  const uint32_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000};
  unsigned seen = 0;
  for (unsigned i = 0; i < r.recorder.count && seen < 9; i++) {
    if (r.recorder.events[i].kind != PN_EVENT_BACKOFF) continue;
    CHECK_EQ(r.recorder.events[i].delay_ms, expected[seen]);
    CHECK_EQ(r.recorder.events[i].reason, PN_ERR_IO);
    seen++;
  }
  CHECK_EQ(seen, 9);
  /* Attempts are numbered from 1. */
  CHECK_EQ(r.recorder.events[0].kind, PN_EVENT_CONNECTING);
  CHECK_EQ(r.recorder.events[0].attempt, 1);
}

static void backoff_resets_only_after_a_session_stayed_up(void) {
  rig r;
  rig_init(&r, random_max);
  /* Two quick failures: the ceiling has grown to 4000. */
  r.transport.open_result = PN_ERR_IO;
  run_for(&r, 2500); /* attempts at +0 and +1000 fail; the next is due at +3000 */
  r.transport.open_result = PN_OK;
  run_to_next_attempt(&r);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK(pn_client_online(&r.client));
  /* Dropped right after login (not stable): no reset; the step (4000 by now) is shorter than the
   * 5000 ms spread window, so the delay is spread over that window. */
  r.transport.peer_closed = true;
  run_for(&r, 0);
  const pn_event *backoff = last_event(&r.recorder, PN_EVENT_BACKOFF);
  CHECK(backoff != NULL && backoff->delay_ms == 5000 && backoff->reason == PN_ERR_CLOSED);
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_BACKOFF_RESET), 0);
  /* Back online, this time for longer than stable_after_ms (pongs keep it alive): reset, spread. */
  r.transport.peer_closed = false;
  run_to_next_attempt(&r);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK(pn_client_online(&r.client));
  for (unsigned i = 0; i < 11; i++) {
    fake_peer_sends(&r.transport, T_PONG, NULL, 0);
    run_for(&r, 1000);
  }
  CHECK(pn_client_online(&r.client));
  r.transport.peer_closed = true;
  run_for(&r, 0);
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_BACKOFF_RESET), 1);
  backoff = last_event(&r.recorder, PN_EVENT_BACKOFF);
  CHECK(backoff != NULL && backoff->delay_ms == 5000); /* spread: 5 * initial */
}

/* Half of the 32-bit range: every delay lands half-way into its window. */
static uint32_t random_half(void *ctx) {
  (void)ctx;
  return 0x80000000u;
}

static void a_young_sessions_loss_spreads_the_reconnects_until_the_step_outgrows_the_window(void) {
  pn_client_config cfg;
  rig_config(&cfg, random_half);
  cfg.backoff_initial_ms = 10;
  cfg.backoff_max_ms = 1000;
  cfg.backoff_spread_ms = 100;
  /* The session is far younger than this: its loss still spreads the reconnects. */
  cfg.stable_after_ms = 600000;
  rig r;
  rig_start(&r, &cfg, false);
  bring_online(&r);
  CHECK(pn_client_online(&r.client));
  /* A server restart as the device sees it: the session dropped, then nothing listening. */
  r.transport.peer_closed = true;
  run_for(&r, 0);
  r.transport.peer_closed = false;
  r.transport.open_result = PN_ERR_IO;
  for (unsigned guard = 0; guard < 100 && count_events(&r.recorder, PN_EVENT_BACKOFF) < 6; guard++)
    run_to_next_attempt(&r);
  /* Steps 10, 20, 40, 80 ms lie inside the 100 ms window (half-way: 50 ms); 160 ms does not, and
   * full jitter takes half of it. The TypeScript client's test of the same rule expects the same
   * four 50 ms delays (its fifth, 160 ms, has jitter 0). Before, a young session's loss counted
   * as a plain failure: 5, 10, 20, 40, 80 ms. */
  const uint32_t expected[] = {50, 50, 50, 50, 80, 160};
  unsigned seen = 0;
  for (unsigned i = 0; i < r.recorder.count && seen < 6; i++) {
    const pn_event *e = &r.recorder.events[i];
    if (e->kind != PN_EVENT_BACKOFF) continue;
    CHECK_EQ(e->delay_ms, expected[seen]);
    CHECK_EQ(e->reason, seen == 0 ? PN_ERR_CLOSED : PN_ERR_IO);
    seen++;
  }
  CHECK_EQ(seen, 6);
  CHECK_EQ(count_events(&r.recorder, PN_EVENT_BACKOFF_RESET), 0);
}

static void attempts_before_the_first_login_are_not_spread(void) {
  pn_client_config cfg;
  rig_config(&cfg, random_half);
  cfg.backoff_initial_ms = 10;
  cfg.backoff_spread_ms = 100;
  rig r;
  rig_start(&r, &cfg, false);
  r.transport.open_result = PN_ERR_IO;
  for (unsigned guard = 0; guard < 100 && count_events(&r.recorder, PN_EVENT_BACKOFF) < 3; guard++)
    run_to_next_attempt(&r);
  const pn_event *backoff = last_event(&r.recorder, PN_EVENT_BACKOFF);
  CHECK(backoff != NULL && backoff->delay_ms == 20); /* half of the third step, 40 ms */
}

static void an_oversize_len_closes_the_link_before_its_payload_is_read(void) {
  rig r;
  rig_init(&r, random_max);
  bring_online(&r);
  const uint8_t header[] = {0x00, 0x00, 0x00, 0x42, T_COMMAND}; /* 65 payload bytes > 64 */
  fake_peer_sends_raw(&r.transport, header, sizeof header);
  uint8_t junk[65];
  memset(junk, 0xAB, sizeof junk);
  fake_peer_sends_raw(&r.transport, junk, sizeof junk);
  size_t read_before = r.transport.in_pos;
  run_for(&r, 0);
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_FRAME_TOO_LARGE);
  /* Only the header was taken from the stream. */
  CHECK(r.transport.in_pos - read_before <= PN_FRAME_HEADER_SIZE);
  CHECK_EQ(r.recorder.frames, 0);
  /* The next connection starts with a clean reader. */
  r.transport.in_len = r.transport.in_pos = 0;
  run_to_next_attempt(&r);

  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, OK_REPLY, 1);
  run_for(&r, 0);
  CHECK(pn_client_online(&r.client));
}

static void len_zero_is_a_protocol_error(void) {
  rig r;
  rig_init(&r, random_max);
  bring_online(&r);
  const uint8_t zero[] = {0, 0, 0, 0};
  fake_peer_sends_raw(&r.transport, zero, sizeof zero);
  run_for(&r, 0);
  const pn_event *offline = last_event(&r.recorder, PN_EVENT_OFFLINE);
  CHECK(offline != NULL && offline->reason == PN_ERR_PROTOCOL);
}

static void partial_writes_deliver_whole_frames_and_a_full_buffer_refuses(void) {
  rig r;
  rig_init(&r, random_max);
  r.transport.send_limit = 3;
  bring_online(&r);
  uint8_t payload[40];
  memset(payload, 7, sizeof payload);
  CHECK_EQ(pn_client_send_raw(&r.client, T_COMMAND, payload, sizeof payload), PN_OK);
  run_for(&r, 0);
  uint8_t type;
  const uint8_t *sent;
  size_t len;
  CHECK(fake_sent_frame(&r.transport, 2, &type, &sent, &len));
  CHECK(type == T_COMMAND && len == sizeof payload && memcmp(sent, payload, len) == 0);
  /* Blocked transport: frames queue up to the buffer (256 bytes), then QUEUE_FULL. */
  r.transport.send_blocked = true;
  pn_status status = PN_OK;
  unsigned queued = 0;
  while ((status = pn_client_send_raw(&r.client, T_COMMAND, payload, sizeof payload)) == PN_OK) queued++;
  CHECK_EQ(status, PN_ERR_QUEUE_FULL);
  CHECK_EQ(queued, 256 / (5 + 40));
  /* A frame larger than the whole buffer never fits. */
  uint8_t big[300] = {0};
  r.transport.send_blocked = false;
  run_for(&r, 0);
  CHECK_EQ(pn_client_send_raw(&r.client, T_COMMAND, big, sizeof big), PN_ERR_OVERFLOW);
  CHECK_EQ(fake_sent_count(&r.transport), 3 + queued);
}

static void stop_closes_and_stays_stopped(void) {
  rig r;
  rig_init(&r, random_max);
  bring_online(&r);
  pn_client_stop(&r.client);
  CHECK_EQ(pn_client_state_of(&r.client), PN_STATE_STOPPED);
  CHECK_EQ(r.transport.closes, 1);
  CHECK_EQ(pn_client_tick(&r.client, r.now + 100000), UINT32_MAX);
  CHECK_EQ(r.transport.opens, 1);
}

/* With a socket to wait on, tick returns exactly the time until its next deadline: the caller
 * sleeps that long (or until the socket is ready) and nothing due is late. */
static void tick_returns_the_time_until_the_next_deadline(void) {
  rig r;
  rig_setup(&r, random_max, true);
  r.transport.handshake_waits = 1;
  /* The first attempt opens at once; the handshake waits for the socket: until the connect timeout. */
  CHECK_EQ(pn_client_tick(&r.client, r.now), 700);
  CHECK_EQ(r.transport.opens, 1);
  int fd = -1;
  bool want_write = true;
  fd = pn_client_poll_fd(&r.client, &want_write);
  CHECK_EQ(fd, FAKE_FD);
  CHECK(!want_write);
  /* Handshake done, RegisterReq out: until the login step's timeout. */
  r.now += 100;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 500);
  fake_peer_sends(&r.transport, T_REGISTER_RSP, OK_REPLY, sizeof OK_REPLY);
  r.now += 200;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 500);
  fake_peer_sends(&r.transport, T_LOGIN_RSP, OK_REPLY, sizeof OK_REPLY);
  r.now += 100;
  /* Online: until the first heartbeat, a whole interval away. */
  CHECK_EQ(pn_client_tick(&r.client, r.now), 1000);
  CHECK(pn_client_online(&r.client));
  uint64_t online_at = r.now;
  r.now += 400;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 600);
  unsigned sent = fake_sent_count(&r.transport);
  r.now += 600;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 1000);
  CHECK_EQ(fake_sent_count(&r.transport), sent + 1);
  /* No reply ever: the second heartbeat, then the dead-peer deadline, 3000 ms after the last byte. */
  r.now += 1000;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 1000);
  CHECK_EQ(fake_sent_count(&r.transport), sent + 2);
  r.now += 1000;
  CHECK_EQ(r.now, online_at + 3000);
  uint32_t sleep = pn_client_tick(&r.client, r.now);
  CHECK(!pn_client_online(&r.client));
  const pn_event *backoff = last_event(&r.recorder, PN_EVENT_BACKOFF);
  CHECK(backoff != NULL && backoff->reason == PN_ERR_HEARTBEAT_TIMEOUT && backoff->delay_ms > 1);
  if (backoff == NULL) return;
  /* Backing off: until the delay is over; one ms early opens nothing, on time the next attempt. */
  CHECK_EQ(sleep, backoff->delay_ms);
  unsigned opens = r.transport.opens;
  r.now += sleep - 1u;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 1);
  CHECK_EQ(r.transport.opens, opens);
  r.now += 1;
  CHECK_EQ(pn_client_tick(&r.client, r.now), 700);
  CHECK_EQ(r.transport.opens, opens + 1);
}

int main(void) {
  RUN(login_flow_registers_then_logs_in_and_goes_online);
  RUN(heartbeats_go_out_every_interval_and_a_silent_peer_is_dead);
  RUN(a_missing_login_reply_times_out);
  RUN(a_refused_login_goes_offline_and_retries);
  RUN(a_slow_handshake_times_out);
  RUN(failed_attempts_back_off_exponentially_to_the_cap);
  RUN(backoff_resets_only_after_a_session_stayed_up);
  RUN(a_young_sessions_loss_spreads_the_reconnects_until_the_step_outgrows_the_window);
  RUN(attempts_before_the_first_login_are_not_spread);
  RUN(an_oversize_len_closes_the_link_before_its_payload_is_read);
  RUN(len_zero_is_a_protocol_error);
  RUN(partial_writes_deliver_whole_frames_and_a_full_buffer_refuses);
  RUN(stop_closes_and_stays_stopped);
  RUN(tick_returns_the_time_until_the_next_deadline);
  CHECK_DONE();
}
