/*
 * Unit tests of the paynet C runtime with a fake transport and clock: wire primitives, the frame
 * reader, full-jitter backoff, the client state machine (login flow, heartbeat and dead-peer
 * detection, timeouts, backoff sequence, cap and reset, oversize frames) and the command record.
 * Built and run by test/c/runtime.test.ts under ASan/UBSan and under valgrind.
 */
#include <paynet/pn_backoff.h>
#include <paynet/pn_client.h>
#include <paynet/pn_frame.h>
#include <paynet/pn_record.h>
#include <paynet/pn_wire.h>

#include "check.h"
#include "fakes.h"

/* ---- wire ----------------------------------------------------------------------------------------- */

static void varints_round_trip_at_their_edges(void) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, 0xFFFFFFFFu, 0x100000000u, UINT64_MAX};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint8_t buf[10];
    pn_writer w;
    pn_writer_init(&w, buf, sizeof buf);
    CHECK_EQ(pn_write_varint(&w, values[i]), PN_OK);
    CHECK_EQ(w.len, pn_varint_size(values[i]));
    pn_reader r;
    pn_reader_init(&r, buf, w.len);
    uint64_t back = 0;
    CHECK_EQ(pn_read_varint(&r, &back), PN_OK);
    CHECK(back == values[i]);
    CHECK_EQ(r.pos, w.len);
  }
  /* -1 as int32 takes ten bytes, as protobuf writes it. */
  CHECK_EQ(pn_varint_size(pn_int32_varint(-1)), 10);
  CHECK_EQ(pn_unzigzag32(pn_zigzag32(-2147483647 - 1)), -2147483647 - 1);
  CHECK(pn_unzigzag64(pn_zigzag64(INT64_MIN)) == INT64_MIN);
}

static void readers_refuse_truncated_and_malformed_input(void) {
  const uint8_t cut[] = {0x80, 0x80};
  pn_reader r;
  uint64_t v;
  pn_reader_init(&r, cut, sizeof cut);
  CHECK_EQ(pn_read_varint(&r, &v), PN_ERR_TRUNCATED);
  const uint8_t eleven[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
  pn_reader_init(&r, eleven, sizeof eleven);
  CHECK_EQ(pn_read_varint(&r, &v), PN_ERR_MALFORMED);
  const uint8_t long_len[] = {0x0A, 0x05, 'a', 'b'};
  pn_reader_init(&r, long_len, sizeof long_len);
  uint32_t field, wt;
  size_t n;
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_read_len(&r, &n), PN_ERR_TRUNCATED);
  const uint8_t field_zero[] = {0x02};
  pn_reader_init(&r, field_zero, sizeof field_zero);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_ERR_MALFORMED);
  /* A group is skipped to its own end tag; a stray end tag is malformed. */
  const uint8_t group[] = {0x0B, 0x10, 0x01, 0x1B, 0x1C, 0x0C, 0x18, 0x02};
  pn_reader_init(&r, group, sizeof group);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_skip(&r, wt, field), PN_OK);
  CHECK_EQ(r.pos, 6);
  const uint8_t stray[] = {0x0C};
  pn_reader_init(&r, stray, sizeof stray);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_skip(&r, wt, field), PN_ERR_MALFORMED);
}

static void writers_stop_at_their_buffer(void) {
  uint8_t buf[3];
  pn_writer w;
  pn_writer_init(&w, buf, sizeof buf);
  CHECK_EQ(pn_write_len_bytes(&w, (const uint8_t *)"abc", 3), PN_ERR_OVERFLOW);
  CHECK_EQ(w.len, 0);
  CHECK_EQ(pn_write_varint(&w, 300), PN_OK);
  CHECK_EQ(pn_write_fixed32(&w, 1), PN_ERR_OVERFLOW);
  CHECK_EQ(w.len, 2);
}

/* ---- frames ---------------------------------------------------------------------------------------- */

static void frame_reader_takes_frames_byte_by_byte(void) {
  uint8_t stream[64];
  size_t len = 0;
  pn_frame_header(stream, 0x81, 3);
  memcpy(stream + 5, "abc", 3);
  pn_frame_header(stream + 8, 0x83, 0);
  len = 13;
  uint8_t buf[16];
  pn_frame_reader fr;
  pn_frame_reader_init(&fr, buf, sizeof buf);
  unsigned frames = 0;
  for (size_t i = 0; i < len; i++) {
    size_t consumed;
    bool ready;
    CHECK_EQ(pn_frame_reader_feed(&fr, stream + i, 1, &consumed, &ready), PN_OK);
    CHECK_EQ(consumed, 1);
    if (!ready) continue;
    pn_frame frame = pn_frame_reader_frame(&fr);
    if (frames == 0) {
      CHECK_EQ(frame.type, 0x81);
      CHECK_EQ(frame.len, 3);
      CHECK(memcmp(frame.payload, "abc", 3) == 0);
    } else {
      CHECK_EQ(frame.type, 0x83);
      CHECK_EQ(frame.len, 0);
    }
    frames++;
  }
  CHECK_EQ(frames, 2);
}

static void frame_reader_judges_len_before_buffering(void) {
  uint8_t buf[16];
  pn_frame_reader fr;
  pn_frame_reader_init(&fr, buf, sizeof buf);
  const uint8_t too_large[] = {0x00, 0x00, 0x00, 0x12, 0x04, 'x'}; /* 17 payload bytes > 16 */
  size_t consumed;
  bool ready;
  CHECK_EQ(pn_frame_reader_feed(&fr, too_large, sizeof too_large, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
  CHECK(consumed <= PN_FRAME_HEADER_SIZE);
  CHECK(!ready);
  /* Failed stays failed until reset. */
  CHECK_EQ(pn_frame_reader_feed(&fr, too_large, sizeof too_large, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
  pn_frame_reader_reset(&fr);
  const uint8_t fits[] = {0x00, 0x00, 0x00, 0x11, 0x04};
  CHECK_EQ(pn_frame_reader_feed(&fr, fits, sizeof fits, &consumed, &ready), PN_OK);
  const uint8_t zero[] = {0x00, 0x00, 0x00, 0x00};
  pn_frame_reader_reset(&fr);
  CHECK_EQ(pn_frame_reader_feed(&fr, zero, sizeof zero, &consumed, &ready), PN_ERR_PROTOCOL);
  /* The largest Len a header can hold is refused without overflow. */
  const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0xFF};
  pn_frame_reader_reset(&fr);
  CHECK_EQ(pn_frame_reader_feed(&fr, huge, sizeof huge, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
}

/* ---- backoff --------------------------------------------------------------------------------------- */

static uint32_t random_max(void *ctx) {
  (void)ctx;
  return UINT32_MAX;
}

static uint32_t random_zero(void *ctx) {
  (void)ctx;
  return 0;
}

/* A fixed sequence of random words. */
typedef struct sequence {
  const uint32_t *words;
  size_t count;
  size_t next;
} sequence;

static uint32_t random_sequence(void *ctx) {
  sequence *s = ctx;
  uint32_t word = s->words[s->next % s->count];
  s->next++;
  return word;
}

static void backoff_doubles_to_its_cap_with_full_jitter(void) {
  pn_backoff b;
  pn_backoff_init(&b, 1000, 64000, 5000, random_max, NULL);
  const uint32_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) CHECK_EQ(pn_backoff_next(&b), expected[i]);
  pn_backoff_init(&b, 1000, 64000, 5000, random_zero, NULL);
  CHECK_EQ(pn_backoff_next(&b), 0);
  CHECK_EQ(pn_backoff_next(&b), 0);
  /* A half-way random word lands half-way: the delay is uniform in [0, ceiling]. */
  const uint32_t half[] = {0x80000000u};
  sequence s = {half, 1, 0};
  pn_backoff_init(&b, 1000, 64000, 5000, random_sequence, &s);
  CHECK_EQ(pn_backoff_next(&b), 500);
  CHECK_EQ(pn_backoff_next(&b), 1000);
  CHECK_EQ(pn_backoff_next(&b), 2000);
  /* After a reset the first delay is spread, then the sequence starts over. */
  pn_backoff_reset(&b);
  CHECK_EQ(pn_backoff_next(&b), 2500);
  CHECK_EQ(pn_backoff_next(&b), 500);
}

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

static void rig_init(rig *r, pn_random_fn random) {
  memset(r, 0, sizeof *r);
  r->transport.handshake_result = PN_OK;
  pn_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = 9443;
  cfg.heartbeat_interval_ms = 1000;
  cfg.heartbeat_timeout_ms = 3000;
  cfg.login_timeout_ms = 500;
  cfg.connect_timeout_ms = 700;
  cfg.stable_after_ms = 10000;
  cfg.random = random;
  CHECK_EQ(pn_client_init(&r->client, &cfg, &hooks, &r->recorder, fake_transport_of(&r->transport), r->rx, sizeof r->rx,
                          r->tx, sizeof r->tx),
           PN_OK);
  r->now = 1000;
  pn_client_start(&r->client, r->now);
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
  /* Dropped after 1 s online (not stable): the next delay keeps growing. */
  r.transport.peer_closed = true;
  run_for(&r, 0);
  const pn_event *backoff = last_event(&r.recorder, PN_EVENT_BACKOFF);
  CHECK(backoff != NULL && backoff->delay_ms == 4000 && backoff->reason == PN_ERR_CLOSED);
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

/* ---- record ---------------------------------------------------------------------------------------- */

#define KEY_MAX 16
#define REPLY_MAX 24
#define CAPACITY 3

typedef struct record_rig {
  pn_record record;
  pn_record_entry entries[CAPACITY];
  uint8_t arena[PN_RECORD_ARENA_SIZE(CAPACITY, KEY_MAX, REPLY_MAX)];
} record_rig;

static pn_status open_record(record_rig *rr, memory_storage *storage) {
  return pn_record_open(&rr->record, rr->entries, rr->arena, CAPACITY, KEY_MAX, REPLY_MAX, memory_storage_of(storage));
}

static pn_claim claim(record_rig *rr, const char *key, uint32_t *index) {
  pn_claim result = PN_CLAIM_NEW;
  CHECK_EQ(pn_record_claim(&rr->record, 0x04, (const uint8_t *)key, strlen(key), index, &result), PN_OK);
  return result;
}

static void record_runs_a_command_once_and_answers_repeats(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t index, again;
  CHECK_EQ(claim(&rr, "A-1", &index), PN_CLAIM_NEW);
  CHECK_EQ(storage.writes, 1); /* durable before the command runs */
  CHECK_EQ(claim(&rr, "A-1", &again), PN_CLAIM_DUPLICATE);
  CHECK_EQ(again, index);
  uint8_t type;
  const uint8_t *reply;
  size_t len;
  pn_record_reply(&rr.record, index, &type, &reply, &len);
  CHECK_EQ(type, 0); /* nothing to answer with yet */
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"accepted", 8), PN_OK);
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_DONE, 0x84, (const uint8_t *)"done", 4), PN_OK);
  pn_record_reply(&rr.record, index, &type, &reply, &len);
  CHECK(type == 0x84 && len == 4 && memcmp(reply, "done", 4) == 0);
  /* The same value under another Type is another command. */
  pn_claim other;
  uint32_t other_index;
  CHECK_EQ(pn_record_claim(&rr.record, 0x06, (const uint8_t *)"A-1", 3, &other_index, &other), PN_OK);
  CHECK_EQ(other, PN_CLAIM_NEW);
  /* Empty and too long keys are refused. */
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"", 0, &index, &other), PN_ERR_INVALID);
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"0123456789abcdefX", 17, &index, &other), PN_ERR_INVALID);
}

static void record_survives_a_reboot_and_marks_running_commands_interrupted(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig before, after;
  CHECK_EQ(open_record(&before, &storage), PN_OK);
  uint32_t done, running;
  CHECK_EQ(claim(&before, "DONE-1", &done), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&before.record, done, PN_COMMAND_DONE, 0x84, (const uint8_t *)"ok", 2), PN_OK);
  CHECK_EQ(claim(&before, "RUN-1", &running), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&before.record, running, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"half", 4), PN_OK);
  /* Reboot: a new record over the same storage. */
  CHECK_EQ(open_record(&after, &storage), PN_OK);
  CHECK_EQ(pn_record_count(&after.record), 2);
  uint32_t index;
  CHECK_EQ(claim(&after, "DONE-1", &index), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&after, "RUN-1", &index), PN_CLAIM_INTERRUPTED);
  CHECK_EQ(pn_record_update(&after.record, index, PN_COMMAND_FAILED, 0x84, (const uint8_t *)"failed", 6), PN_OK);
  CHECK_EQ(claim(&after, "RUN-1", &index), PN_CLAIM_DUPLICATE);
  CHECK_EQ(pn_record_state(&after.record, index), PN_COMMAND_FAILED);
}

static void a_torn_write_keeps_the_previous_copy(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr, rebooted;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t index;
  CHECK_EQ(claim(&rr, "T-1", &index), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"step1", 5), PN_OK);
  storage.tear_after = 10; /* the power goes while the next copy is written */
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_DONE, 0x84, (const uint8_t *)"final", 5), PN_ERR_STORAGE);
  CHECK_EQ(open_record(&rebooted, &storage), PN_OK);
  CHECK_EQ(claim(&rebooted, "T-1", &index), PN_CLAIM_INTERRUPTED);
  uint8_t type;
  const uint8_t *reply;
  size_t len;
  pn_record_reply(&rebooted.record, index, &type, &reply, &len);
  CHECK(len == 5 && memcmp(reply, "step1", 5) == 0);
  /* Every byte flipped in a slot is caught by its CRC: the slot reads as empty, not as garbage. */
  static memory_storage flipped;
  memcpy(&flipped, &storage, sizeof storage);
  size_t slot = PN_RECORD_SLOT_SIZE(KEY_MAX, REPLY_MAX);
  for (size_t i = 0; i < 2 * slot; i++) flipped.bytes[i] ^= 0x01;
  static record_rig corrupt;
  CHECK_EQ(open_record(&corrupt, &flipped), PN_OK);
  CHECK_EQ(pn_record_count(&corrupt.record), 0);
}

static void a_full_record_reuses_the_oldest_finished_command_never_a_running_one(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t a, b, c, d;
  CHECK_EQ(claim(&rr, "A", &a), PN_CLAIM_NEW);
  CHECK_EQ(claim(&rr, "B", &b), PN_CLAIM_NEW);
  CHECK_EQ(claim(&rr, "C", &c), PN_CLAIM_NEW);
  pn_claim result;
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"D", 1, &d, &result), PN_ERR_RECORD_FULL);
  CHECK_EQ(pn_record_update(&rr.record, b, PN_COMMAND_DONE, 0x84, NULL, 0), PN_OK);
  CHECK_EQ(pn_record_update(&rr.record, a, PN_COMMAND_DONE, 0x84, NULL, 0), PN_OK);
  /* B finished first (older write): D takes its place; A and C stay. */
  CHECK_EQ(claim(&rr, "D", &d), PN_CLAIM_NEW);
  CHECK_EQ(d, b);
  CHECK_EQ(claim(&rr, "A", &a), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&rr, "C", &c), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&rr, "B", &b), PN_CLAIM_NEW);
}

static void a_failing_storage_refuses_the_command(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  storage.fail_writes = true;
  uint32_t index;
  pn_claim result;
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"X", 1, &index, &result), PN_ERR_STORAGE);
  storage.fail_writes = false;
  CHECK_EQ(claim(&rr, "X", &index), PN_CLAIM_NEW);
}

int main(void) {
  RUN(varints_round_trip_at_their_edges);
  RUN(readers_refuse_truncated_and_malformed_input);
  RUN(writers_stop_at_their_buffer);
  RUN(frame_reader_takes_frames_byte_by_byte);
  RUN(frame_reader_judges_len_before_buffering);
  RUN(backoff_doubles_to_its_cap_with_full_jitter);
  RUN(login_flow_registers_then_logs_in_and_goes_online);
  RUN(heartbeats_go_out_every_interval_and_a_silent_peer_is_dead);
  RUN(a_missing_login_reply_times_out);
  RUN(a_refused_login_goes_offline_and_retries);
  RUN(a_slow_handshake_times_out);
  RUN(failed_attempts_back_off_exponentially_to_the_cap);
  RUN(backoff_resets_only_after_a_session_stayed_up);
  RUN(an_oversize_len_closes_the_link_before_its_payload_is_read);
  RUN(len_zero_is_a_protocol_error);
  RUN(partial_writes_deliver_whole_frames_and_a_full_buffer_refuses);
  RUN(stop_closes_and_stays_stopped);
  RUN(record_runs_a_command_once_and_answers_repeats);
  RUN(record_survives_a_reboot_and_marks_running_commands_interrupted);
  RUN(a_torn_write_keeps_the_previous_copy);
  RUN(a_full_record_reuses_the_oldest_finished_command_never_a_running_one);
  RUN(a_failing_storage_refuses_the_command);
  CHECK_DONE();
}
