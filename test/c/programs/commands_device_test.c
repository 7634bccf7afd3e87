/*
 * The generated device side of a second model, test/fixtures/protos/generator/commands.proto, on a
 * fake transport and in-memory storage: the annotations wire other choices than paybox's. No
 * REGISTER role (the login request goes first), an int64 `code` judging the LOGIN reply, a
 * heartbeat travelling both ways, a command correlated by a bytes field whose proto2 replies (fields
 * with presence) end on either of two final values, REJECTED meaning failure, and no ERROR role. Built and run by
 * test/c/runtime.test.ts under ASan/UBSan and valgrind.
 */
#include "check.h"
#include "fakes.h"
#include "ops_device.h"

typedef struct app {
  unsigned commands_run;
  ops_command last_cmd;
  unsigned reports[8];
  unsigned online;
  unsigned ticks_seen;
} app;

static void fill_hello(ops_device *d, ops_Hello *m) {
  (void)d;
  CHECK_EQ(PN_SET_STRING(m->device, "dev-7"), PN_OK);
}

static void fill_tick(ops_device *d, ops_Tick *m) {
  (void)d;
  m->timestamp = 1234567890123u;
}

static void on_command(ops_device *d, ops_command cmd, const ops_Command *m) {
  app *a = d->user;
  (void)m;
  a->commands_run++;
  a->last_cmd = cmd;
}

static void on_tick(ops_device *d, const ops_Tick *m) {
  app *a = d->user;
  (void)m;
  a->ticks_seen++;
}

static void on_event(ops_device *d, const pn_event *e) {
  app *a = d->user;
  if (e->kind == PN_EVENT_ONLINE) a->online++;
}

static void on_report(ops_device *d, const ops_report *r) {
  app *a = d->user;
  a->reports[r->kind]++;
}

static const ops_handlers handlers = {
    .fill_Hello = fill_hello,
    .fill_Tick = fill_tick,
    .on_Command = on_command,
    .on_Tick = on_tick,
    .on_event = on_event,
    .on_report = on_report,
};

typedef struct rig {
  ops_device device;
  fake_transport transport;
  app app;
  uint64_t now;
} rig;

static memory_storage storage;

static void rig_boot(rig *r) {
  memset(r, 0, sizeof *r);
  r->transport.handshake_result = PN_OK;
  pn_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "127.0.0.1";
  cfg.port = 9443;
  cfg.heartbeat_interval_ms = 1000;
  cfg.random = random_max;
  CHECK_EQ(ops_device_init(&r->device, &cfg, fake_transport_of(&r->transport), memory_storage_of(&storage), &handlers,
                           &r->app),
           PN_OK);
  r->now = 5000;
  ops_device_start(&r->device, r->now);
}

static void tick(rig *r) {
  for (unsigned i = 0; i < 4; i++) (void)ops_device_tick(&r->device, r->now);
}

#define SERVER_SENDS(r, type, T, m)                         \
  do {                                                      \
    uint8_t buf_[512];                                      \
    pn_writer w_;                                           \
    pn_writer_init(&w_, buf_, sizeof buf_);                 \
    CHECK_EQ(T##_encode((m), &w_), PN_OK);                  \
    fake_peer_sends(&(r)->transport, (type), buf_, w_.len); \
  } while (0)

#define SENT(r, index, type, T, out) \
  sent_as(&(r)->transport, (index), (type), (pn_status(*)(const uint8_t *, size_t, void *))T##_decode, (out))

static bool sent_as(const fake_transport *t, unsigned index, uint8_t type,
                    pn_status (*decode)(const uint8_t *, size_t, void *), void *out) {
  uint8_t sent_type;
  const uint8_t *payload;
  size_t len;
  if (!fake_sent_frame(t, index, &sent_type, &payload, &len) || sent_type != type) return false;
  return decode(payload, len, out) == PN_OK;
}

static void welcome(rig *r, int64_t code) {
  tick(r);
  ops_Welcome m;
  ops_Welcome_init(&m);
  m.code = code;
  SERVER_SENDS(r, OPS_TYPE_WELCOME, ops_Welcome, &m);
  tick(r);
}

static void send_command(rig *r, const uint8_t *id, uint32_t id_len) {
  ops_Command m;
  ops_Command_init(&m);
  m.has_id = id != NULL;
  if (id != NULL) {
    memcpy(m.id.data, id, id_len);
    m.id.len = id_len;
  }
  CHECK_EQ(PN_SET_STRING(m.action, "reboot-relay"), PN_OK);
  SERVER_SENDS(r, OPS_TYPE_COMMAND, ops_Command, &m);
  tick(r);
}

static pn_status result(rig *r, const uint8_t *id, uint32_t id_len, int32_t outcome) {
  ops_Result m;
  ops_Result_init(&m);
  m.has_id = true;
  memcpy(m.id.data, id, id_len);
  m.id.len = id_len;
  m.has_outcome = true;
  m.outcome = outcome;
  pn_status status = ops_reply_Command(&r->device, r->app.last_cmd, &m);
  tick(r);
  return status;
}

static const uint8_t ID[] = {0x00, 0xff, 0x10, 0x00};

static void the_login_request_goes_first_and_an_int64_code_judges_its_reply(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  welcome(&r, 0);
  CHECK_EQ(r.app.online, 1);
  ops_Hello hello;
  CHECK(SENT(&r, 0, OPS_TYPE_HELLO, ops_Hello, &hello));
  CHECK(strcmp(hello.device.data, "dev-7") == 0);
  /* The heartbeat is the Tick the handler fills. */
  r.now += 1000;
  tick(&r);
  ops_Tick beat;
  CHECK(SENT(&r, 1, OPS_TYPE_TICK, ops_Tick, &beat));
  CHECK_EQ(beat.timestamp, 1234567890123u);
  /* A Tick from the cloud goes to its handler. */
  ops_Tick from_cloud;
  ops_Tick_init(&from_cloud);
  SERVER_SENDS(&r, OPS_TYPE_TICK, ops_Tick, &from_cloud);
  tick(&r);
  CHECK_EQ(r.app.ticks_seen, 1);
  /* Any code but 0, even one only an int64 holds, refuses the login. */
  static rig refused;
  memset(&storage, 0, sizeof storage);
  rig_boot(&refused);
  welcome(&refused, -((int64_t)1 << 40));
  CHECK_EQ(refused.app.online, 0);
  CHECK(!pn_client_online(&refused.device.client));
}

static void a_bytes_correlated_command_runs_once_until_either_final_value(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  welcome(&r, 0);
  unsigned sent = fake_sent_count(&r.transport);
  send_command(&r, ID, sizeof ID);
  CHECK_EQ(r.app.commands_run, 1);
  /* PENDING is not final: the command still takes replies. */
  CHECK_EQ(result(&r, ID, sizeof ID, ops_Outcome_PENDING), PN_OK);
  CHECK_EQ(result(&r, ID, sizeof ID, ops_Outcome_REJECTED), PN_OK);
  CHECK_EQ(result(&r, ID, sizeof ID, ops_Outcome_APPLIED), PN_ERR_INVALID);
  ops_Result last;
  CHECK(SENT(&r, sent + 1, OPS_TYPE_RESULT, ops_Result, &last));
  CHECK_EQ(last.outcome, ops_Outcome_REJECTED);
  /* A repeat is answered with the final reply and not run. */
  send_command(&r, ID, sizeof ID);
  CHECK_EQ(r.app.commands_run, 1);
  CHECK_EQ(r.app.reports[OPS_REPORT_DUPLICATE], 1);
  ops_Result again;
  CHECK(SENT(&r, sent + 2, OPS_TYPE_RESULT, ops_Result, &again));
  CHECK_EQ(again.outcome, ops_Outcome_REJECTED);
  CHECK_EQ(again.id.len, sizeof ID);
  CHECK(memcmp(again.id.data, ID, sizeof ID) == 0);
  /* Bytes keys are compared whole: a prefix is another command. */
  send_command(&r, ID, 2);
  CHECK_EQ(r.app.commands_run, 2);
  /* Without an id it cannot be told apart from others: not run. */
  send_command(&r, NULL, 0);
  CHECK_EQ(r.app.commands_run, 2);
  CHECK_EQ(r.app.reports[OPS_REPORT_CORRELATION_MISSING], 1);
}

static void an_interrupted_command_is_answered_rejected_and_never_run_again(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  welcome(&r, 0);
  send_command(&r, ID, sizeof ID);
  CHECK_EQ(result(&r, ID, sizeof ID, ops_Outcome_PENDING), PN_OK);
  /* Power cut while it runs; the box comes back on the same storage. */
  static rig rebooted;
  rig_boot(&rebooted);
  welcome(&rebooted, 0);
  unsigned sent = fake_sent_count(&rebooted.transport);
  send_command(&rebooted, ID, sizeof ID);
  CHECK_EQ(rebooted.app.commands_run, 0);
  CHECK_EQ(rebooted.app.reports[OPS_REPORT_INTERRUPTED], 1);
  /* Answered with the failure state, its id and outcome flagged as set (proto2 presence). */
  ops_Result failed;
  CHECK(SENT(&rebooted, sent, OPS_TYPE_RESULT, ops_Result, &failed));
  CHECK(failed.has_id && failed.id.len == sizeof ID && memcmp(failed.id.data, ID, sizeof ID) == 0);
  CHECK(failed.has_outcome);
  CHECK_EQ(failed.outcome, ops_Outcome_REJECTED);
  /* Settled: later repeats are answered the same, still not run. */
  send_command(&rebooted, ID, sizeof ID);
  CHECK_EQ(rebooted.app.commands_run, 0);
  CHECK_EQ(rebooted.app.reports[OPS_REPORT_DUPLICATE], 1);
  ops_Result again;
  CHECK(SENT(&rebooted, sent + 1, OPS_TYPE_RESULT, ops_Result, &again));
  CHECK(again.has_outcome && again.outcome == ops_Outcome_REJECTED);
}

int main(void) {
  RUN(the_login_request_goes_first_and_an_int64_code_judges_its_reply);
  RUN(a_bytes_correlated_command_runs_once_until_either_final_value);
  RUN(an_interrupted_command_is_answered_rejected_and_never_run_again);
  CHECK_DONE();
}
