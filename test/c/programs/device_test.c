/*
 * The generated device side of proto/paybox.proto on a fake transport and in-memory storage: the
 * login flow fills and judges its messages, commands run once (repeats answered from the record,
 * also after a reboot; a command interrupted by a reboot answered FAILED, never run again), and
 * unknown, undecodable or uncorrelated frames are reported to the server instead of run.
 * Built and run by test/c/device.test.ts under ASan/UBSan and valgrind.
 */
#include "check.h"
#include "fakes.h"
#include "paybox_device.h"

typedef struct app {
  unsigned commands_run;
  paybox_command last_cmd;
  char last_order[65];
  unsigned reports[8];
  unsigned online;
  char device_id[65];
} app;

static void fill_register(paybox_device *d, paybox_RegisterReq *m) {
  (void)d;
  CHECK_EQ(PN_SET_STRING(m->device_sn, "SN-T1"), PN_OK);
}

static void on_register_reply(paybox_device *d, const paybox_RegisterRsp *m) {
  app *a = d->user;
  memcpy(a->device_id, m->device_id.data, m->device_id.len + 1u);
}

static void fill_login(paybox_device *d, paybox_LoginReq *m) {
  app *a = d->user;
  CHECK_EQ(PN_SET_STRING(m->device_id, a->device_id), PN_OK);
  CHECK_EQ(PN_SET_STRING(m->token, "demo-token"), PN_OK);
}

static void fill_ping(paybox_device *d, paybox_Ping *m) {
  (void)d;
  m->uptime = 42;
}

static void on_coin_command(paybox_device *d, paybox_command cmd, const paybox_CoinCommand *m) {
  app *a = d->user;
  a->commands_run++;
  a->last_cmd = cmd;
  memcpy(a->last_order, m->order_id.data, m->order_id.len + 1u);
}

static void on_event(paybox_device *d, const pn_event *e) {
  app *a = d->user;
  if (e->kind == PN_EVENT_ONLINE) a->online++;
}

static void on_report(paybox_device *d, const paybox_report *r) {
  app *a = d->user;
  a->reports[r->kind]++;
}

static const paybox_handlers handlers = {
    .fill_RegisterReq = fill_register,
    .on_RegisterRsp = on_register_reply,
    .fill_LoginReq = fill_login,
    .fill_Ping = fill_ping,
    .on_CoinCommand = on_coin_command,
    .on_event = on_event,
    .on_report = on_report,
};

typedef struct rig {
  paybox_device device;
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
  CHECK_EQ(paybox_device_init(&r->device, &cfg, fake_transport_of(&r->transport), memory_storage_of(&storage),
                              &handlers, &r->app),
           PN_OK);
  r->now = 5000;
  paybox_device_start(&r->device, r->now);
}

static void tick(rig *r) {
  for (unsigned i = 0; i < 4; i++) (void)paybox_device_tick(&r->device, r->now);
}

/* Encodes m with encode into a frame the fake server sends. */
#define SERVER_SENDS(r, type, T, m)                           \
  do {                                                        \
    uint8_t buf_[512];                                        \
    pn_writer w_;                                             \
    pn_writer_init(&w_, buf_, sizeof buf_);                   \
    CHECK_EQ(T##_encode((m), &w_), PN_OK);                    \
    fake_peer_sends(&(r)->transport, (type), buf_, w_.len);   \
  } while (0)

static void go_online(rig *r) {
  tick(r);
  paybox_RegisterRsp registered;
  paybox_RegisterRsp_init(&registered);
  CHECK_EQ(PN_SET_STRING(registered.device_id, "dev-SN-T1"), PN_OK);
  SERVER_SENDS(r, PAYBOX_TYPE_REGISTER_RSP, paybox_RegisterRsp, &registered);
  tick(r);
  paybox_LoginRsp welcome;
  paybox_LoginRsp_init(&welcome);
  SERVER_SENDS(r, PAYBOX_TYPE_LOGIN_RSP, paybox_LoginRsp, &welcome);
  tick(r);
}

/* The index-th frame sent, decoded as T; false when it is not of `type`. */
#define SENT(r, index, type, T, out)                                                                 \
  sent_as(&(r)->transport, (index), (type), (pn_status(*)(const uint8_t *, size_t, void *))T##_decode, (out))

static bool sent_as(const fake_transport *t, unsigned index, uint8_t type,
                    pn_status (*decode)(const uint8_t *, size_t, void *), void *out) {
  uint8_t sent_type;
  const uint8_t *payload;
  size_t len;
  if (!fake_sent_frame(t, index, &sent_type, &payload, &len) || sent_type != type) return false;
  return decode(payload, len, out) == PN_OK;
}

static void send_command(rig *r, const char *order_id, uint32_t coins) {
  paybox_CoinCommand command;
  paybox_CoinCommand_init(&command);
  CHECK_EQ(PN_SET_STRING(command.order_id, order_id), PN_OK);
  command.coins = coins;
  SERVER_SENDS(r, PAYBOX_TYPE_COIN_COMMAND, paybox_CoinCommand, &command);
  tick(r);
}

static pn_status ack(rig *r, const char *order_id, int32_t state) {
  paybox_CoinAck message;
  paybox_CoinAck_init(&message);
  CHECK_EQ(PN_SET_STRING(message.order_id, order_id), PN_OK);
  message.state = state;
  pn_status status = paybox_reply_CoinCommand(&r->device, r->app.last_cmd, &message);
  tick(r);
  return status;
}

static void the_login_flow_is_filled_by_the_handlers_and_judged_by_code(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  go_online(&r);
  CHECK_EQ(r.app.online, 1);
  paybox_RegisterReq reg;
  CHECK(SENT(&r, 0, PAYBOX_TYPE_REGISTER_REQ, paybox_RegisterReq, &reg));
  CHECK(strcmp(reg.device_sn.data, "SN-T1") == 0);
  paybox_LoginReq login;
  CHECK(SENT(&r, 1, PAYBOX_TYPE_LOGIN_REQ, paybox_LoginReq, &login));
  CHECK(strcmp(login.device_id.data, "dev-SN-T1") == 0);
  CHECK(strcmp(login.token.data, "demo-token") == 0);
  r.now += 1000;
  tick(&r);
  paybox_Ping ping;
  CHECK(SENT(&r, 2, PAYBOX_TYPE_PING, paybox_Ping, &ping));
  CHECK_EQ(ping.uptime, 42);
  /* A refused login (code UNAUTHORIZED) keeps the device offline. */
  static rig refused;
  memset(&storage, 0, sizeof storage);
  rig_boot(&refused);
  tick(&refused);
  paybox_RegisterRsp registered;
  paybox_RegisterRsp_init(&registered);
  SERVER_SENDS(&refused, PAYBOX_TYPE_REGISTER_RSP, paybox_RegisterRsp, &registered);
  tick(&refused);
  paybox_LoginRsp no;
  paybox_LoginRsp_init(&no);
  no.code = paybox_ResultCode_UNAUTHORIZED;
  SERVER_SENDS(&refused, PAYBOX_TYPE_LOGIN_RSP, paybox_LoginRsp, &no);
  tick(&refused);
  CHECK_EQ(refused.app.online, 0);
  CHECK(!pn_client_online(&refused.device.client));
}

static void a_command_runs_once_and_a_repeat_is_answered_from_the_record(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  go_online(&r);
  unsigned sent = fake_sent_count(&r.transport);
  send_command(&r, "ORD-1", 2);
  CHECK_EQ(r.app.commands_run, 1);
  CHECK_EQ(ack(&r, "ORD-1", paybox_CoinState_COIN_ACCEPTED), PN_OK);
  CHECK_EQ(ack(&r, "ORD-1", paybox_CoinState_COIN_DONE), PN_OK);
  paybox_CoinAck done;
  CHECK(SENT(&r, sent + 1, PAYBOX_TYPE_COIN_ACK, paybox_CoinAck, &done));
  CHECK_EQ(done.state, paybox_CoinState_COIN_DONE);
  /* After the final reply the command is over. */
  CHECK_EQ(ack(&r, "ORD-1", paybox_CoinState_COIN_RUNNING), PN_ERR_INVALID);
  send_command(&r, "ORD-1", 2);
  CHECK_EQ(r.app.commands_run, 1);
  CHECK_EQ(r.app.reports[PAYBOX_REPORT_DUPLICATE], 1);
  paybox_CoinAck repeated;
  CHECK(SENT(&r, sent + 2, PAYBOX_TYPE_COIN_ACK, paybox_CoinAck, &repeated));
  CHECK(repeated.state == paybox_CoinState_COIN_DONE && strcmp(repeated.order_id.data, "ORD-1") == 0);
  /* Another order runs. */
  send_command(&r, "ORD-2", 1);
  CHECK_EQ(r.app.commands_run, 2);
}

static void after_a_reboot_repeats_and_interrupted_commands_never_run_again(void) {
  memset(&storage, 0, sizeof storage);
  static rig before, after;
  rig_boot(&before);
  go_online(&before);
  send_command(&before, "DONE-1", 1);
  CHECK_EQ(ack(&before, "DONE-1", paybox_CoinState_COIN_DONE), PN_OK);
  send_command(&before, "HALF-1", 3);
  CHECK_EQ(ack(&before, "HALF-1", paybox_CoinState_COIN_ACCEPTED), PN_OK);
  /* Power cut: the device boots again over the same storage. */
  rig_boot(&after);
  go_online(&after);
  unsigned sent = fake_sent_count(&after.transport);
  send_command(&after, "DONE-1", 1);
  send_command(&after, "HALF-1", 3);
  CHECK_EQ(after.app.commands_run, 0);
  CHECK_EQ(after.app.reports[PAYBOX_REPORT_DUPLICATE], 1);
  CHECK_EQ(after.app.reports[PAYBOX_REPORT_INTERRUPTED], 1);
  paybox_CoinAck first, failed;
  CHECK(SENT(&after, sent, PAYBOX_TYPE_COIN_ACK, paybox_CoinAck, &first));
  CHECK_EQ(first.state, paybox_CoinState_COIN_DONE);
  CHECK(SENT(&after, sent + 1, PAYBOX_TYPE_COIN_ACK, paybox_CoinAck, &failed));
  CHECK_EQ(failed.state, paybox_CoinState_COIN_FAILED);
  CHECK(strcmp(failed.order_id.data, "HALF-1") == 0);
  CHECK(strncmp(failed.error.data, "interrupted, reconcile manually", 31) == 0);
  /* Asked again: the failure, from the record. */
  send_command(&after, "HALF-1", 3);
  CHECK_EQ(after.app.commands_run, 0);
  paybox_CoinAck again;
  CHECK(SENT(&after, sent + 2, PAYBOX_TYPE_COIN_ACK, paybox_CoinAck, &again));
  CHECK_EQ(again.state, paybox_CoinState_COIN_FAILED);
}

static void bad_frames_are_reported_to_the_server_not_run(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  go_online(&r);
  unsigned sent = fake_sent_count(&r.transport);
  send_command(&r, "", 1);
  const uint8_t unknown[] = {1, 2, 3};
  fake_peer_sends(&r.transport, 0x42, unknown, sizeof unknown);
  const uint8_t truncated[] = {0x0A, 0x05, 'A'};
  fake_peer_sends(&r.transport, PAYBOX_TYPE_COIN_COMMAND, truncated, sizeof truncated);
  tick(&r);
  CHECK_EQ(r.app.commands_run, 0);
  CHECK_EQ(r.app.reports[PAYBOX_REPORT_CORRELATION_MISSING], 1);
  CHECK_EQ(r.app.reports[PAYBOX_REPORT_UNKNOWN_TYPE], 1);
  CHECK_EQ(r.app.reports[PAYBOX_REPORT_DECODE_FAILED], 1);
  paybox_ErrorMsg e1, e2, e3;
  CHECK(SENT(&r, sent, PAYBOX_TYPE_ERROR_MSG, paybox_ErrorMsg, &e1));
  CHECK(SENT(&r, sent + 1, PAYBOX_TYPE_ERROR_MSG, paybox_ErrorMsg, &e2));
  CHECK(SENT(&r, sent + 2, PAYBOX_TYPE_ERROR_MSG, paybox_ErrorMsg, &e3));
  CHECK_EQ(e1.code, 400);
  CHECK_EQ(e2.code, 404);
  CHECK_EQ(e3.code, 400);
  CHECK(pn_client_online(&r.device.client));
}

static void a_command_the_record_cannot_hold_is_not_run(void) {
  memset(&storage, 0, sizeof storage);
  static rig r;
  rig_boot(&r);
  go_online(&r);
  storage.fail_writes = true;
  send_command(&r, "ORD-X", 1);
  CHECK_EQ(r.app.commands_run, 0);
  CHECK_EQ(r.app.reports[PAYBOX_REPORT_RECORD_FAILED], 1);
  storage.fail_writes = false;
  send_command(&r, "ORD-X", 1);
  CHECK_EQ(r.app.commands_run, 1);
}

int main(void) {
  RUN(the_login_flow_is_filled_by_the_handlers_and_judged_by_code);
  RUN(a_command_runs_once_and_a_repeat_is_answered_from_the_record);
  RUN(after_a_reboot_repeats_and_interrupted_commands_never_run_again);
  RUN(bad_frames_are_reported_to_the_server_not_run);
  RUN(a_command_the_record_cannot_hold_is_not_run);
  CHECK_DONE();
}
