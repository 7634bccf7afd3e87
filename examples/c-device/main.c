/*
 * c-device: the example payment box in C, built only from the SDK generated from
 * proto/paybox.proto (paynet-gen generate --lang c) and the paynet C runtime, with OpenSSL 3 for
 * TLS and a file for the record of executed commands. One log line per step. Run `c-device --help`.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int signal_number) {
  stop_signal = signal_number;
}

void log_line(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fputs("[c-device] ", stdout);
  vfprintf(stdout, fmt, args);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(args);
}

uint64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t wall_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* splitmix64, seeded from the kernel: the jitter of the reconnect delays. */
static uint32_t random_u32(void *ctx) {
  uint64_t *state = ctx;
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint64_t random_seed(void) {
  uint64_t seed = wall_clock_ms() ^ ((uint64_t)getpid() << 32);
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint64_t bytes;
    if (read(fd, &bytes, sizeof bytes) == (ssize_t)sizeof bytes) seed ^= bytes;
    close(fd);
  }
  return seed;
}

static const char *result_code_name(int32_t code) {
  switch (code) {
    case paybox_ResultCode_OK: return "OK";
    case paybox_ResultCode_FAILED: return "FAILED";
    case paybox_ResultCode_UNAUTHORIZED: return "UNAUTHORIZED";
    case paybox_ResultCode_PARAM_ERROR: return "PARAM_ERROR";
    case paybox_ResultCode_DEVICE_NOT_FOUND: return "DEVICE_NOT_FOUND";
    case paybox_ResultCode_ORDER_DUPLICATED: return "ORDER_DUPLICATED";
    default: return "UNKNOWN";
  }
}

/* ---- handlers of the generated SDK ------------------------------------------------------------- */

static app *app_of(paybox_device *d) {
  return d->user;
}

static void fill_register(paybox_device *d, paybox_RegisterReq *m) {
  const device_options *o = app_of(d)->options;
  (void)PN_SET_STRING(m->device_sn, o->sn);
  (void)PN_SET_STRING(m->model, o->model);
  (void)PN_SET_STRING(m->firmware, o->firmware);
  log_line("-> RegisterReq sn=%s model=%s firmware=%s", o->sn, o->model, o->firmware);
}

static void on_register_reply(paybox_device *d, const paybox_RegisterRsp *m) {
  app *a = app_of(d);
  log_line("<- RegisterRsp %s device_id=%s \"%s\"", result_code_name(m->code), m->device_id.len ? m->device_id.data : "-",
           m->msg.data);
  if (m->code == paybox_ResultCode_OK && m->device_id.len > 0) {
    snprintf(a->device_id, sizeof a->device_id, "%s", m->device_id.data);
  }
}

static void fill_login(paybox_device *d, paybox_LoginReq *m) {
  app *a = app_of(d);
  (void)PN_SET_STRING(m->device_id, a->device_id);
  (void)PN_SET_STRING(m->token, a->options->token);
  (void)PN_SET_STRING(m->version, a->options->firmware);
  log_line("-> LoginReq device_id=%s version=%s", a->device_id, a->options->firmware);
}

static void on_login_reply(paybox_device *d, const paybox_LoginRsp *m) {
  (void)d;
  log_line("<- LoginRsp %s \"%s\"%s%s", result_code_name(m->code), m->msg.data,
           m->resume_token.len ? " resume_token=" : "", m->resume_token.data);
}

static void fill_ping(paybox_device *d, paybox_Ping *m) {
  app *a = app_of(d);
  m->timestamp = wall_clock_ms();
  m->uptime = (uint32_t)((a->now_ms - a->started_ms) / 1000u);
  log_line("-> Ping timestamp=%llu uptime=%us", (unsigned long long)m->timestamp, (unsigned)m->uptime);
}

static void on_pong(paybox_device *d, const paybox_Pong *m) {
  (void)d;
  log_line("<- Pong timestamp=%llu", (unsigned long long)m->timestamp);
}

static void on_coin_command(paybox_device *d, paybox_command cmd, const paybox_CoinCommand *m) {
  log_line("<- CoinCommand order=%s coins=%u timeout=%us", m->order_id.data, (unsigned)m->coins, (unsigned)m->timeout);
  coins_start(app_of(d), cmd, m);
}

static void on_query_reply(paybox_device *d, const paybox_QueryRsp *m) {
  (void)d;
  log_line("<- QueryRsp order=%s state=%s progress=%u%s%s%s", m->order_id.data, coin_state_name(m->state),
           (unsigned)m->progress, m->error.len ? " error=\"" : "", m->error.data, m->error.len ? "\"" : "");
}

static void on_error_message(paybox_device *d, const paybox_ErrorMsg *m) {
  (void)d;
  log_line("WARN <- ErrorMsg code=%u \"%s\"", (unsigned)m->code, m->msg.data);
}

static void query(app *a, const char *order_id) {
  paybox_QueryReq request;
  paybox_QueryReq_init(&request);
  if (PN_SET_STRING(request.order_id, order_id) != PN_OK) return;
  log_line("-> QueryReq order=%s", order_id);
  pn_status status = paybox_send_QueryReq(&a->device, &request);
  if (status != PN_OK) log_line("WARN query of %s not sent: %s", order_id, pn_status_name(status));
}

static const char *handshake_text(bool resumed) {
  return resumed ? "resumed TLS session" : "full TLS handshake";
}

static void on_event(paybox_device *d, const pn_event *e) {
  app *a = app_of(d);
  const device_options *o = a->options;
  switch (e->kind) {
    case PN_EVENT_CONNECTING:
      log_line("connecting to %s:%u (attempt %u)", o->host, (unsigned)o->port, (unsigned)e->attempt);
      break;
    case PN_EVENT_CONNECTED:
      log_line("TLS connected (%s)", handshake_text(e->resumed));
      break;
    case PN_EVENT_ONLINE:
      a->online_count++;
      log_line("online (%s) as %s", handshake_text(e->resumed), a->device_id);
      if (o->query != NULL) query(a, o->query);
      else if (a->online_count > 1 && a->last_order[0] != '\0') query(a, a->last_order);
      break;
    case PN_EVENT_OFFLINE: {
      const char *detail = pn_openssl_error(&a->tls);
      bool transport = e->reason == PN_ERR_IO || e->reason == PN_ERR_TLS || e->reason == PN_ERR_CLOSED;
      log_line("offline: %s%s%s", pn_status_name(e->reason), transport && detail[0] ? " " : "", transport ? detail : "");
      break;
    }
    case PN_EVENT_BACKOFF:
      log_line("reconnecting in %.1fs (attempt %u)", (double)e->delay_ms / 1000.0, (unsigned)e->attempt + 1u);
      break;
    case PN_EVENT_BACKOFF_RESET:
      log_line("the session had stayed up: reconnect delays start over");
      break;
    default:
      break;
  }
}

static void on_report(paybox_device *d, const paybox_report *r) {
  (void)d;
  char key[paybox_CoinCommand_order_id_MAX_SIZE + 1] = "";
  if (r->key != NULL) snprintf(key, sizeof key, "%.*s", (int)r->key_len, (const char *)r->key);
  switch (r->kind) {
    case PAYBOX_REPORT_DUPLICATE:
      log_line("duplicate command answered from its record, not executed again: order=%s", key);
      break;
    case PAYBOX_REPORT_INTERRUPTED:
      log_line("WARN command interrupted by a restart during its execution: order=%s not executed again, answered as FAILED; reconcile manually", key);
      break;
    case PAYBOX_REPORT_RECORD_FAILED:
      log_line("ERROR cannot record order=%s (%s): not executed", key, pn_status_name(r->status));
      break;
    case PAYBOX_REPORT_CORRELATION_MISSING:
      log_line("WARN command without order id refused: not executed");
      break;
    case PAYBOX_REPORT_UNKNOWN_TYPE:
      log_line("WARN frame of unknown type 0x%02X ignored", (unsigned)r->type);
      break;
    case PAYBOX_REPORT_DECODE_FAILED:
      log_line("WARN undecodable frame of type 0x%02X: %s", (unsigned)r->type, pn_status_name(r->status));
      break;
    case PAYBOX_REPORT_UNHANDLED:
      break;
  }
}

static const paybox_handlers handlers = {
    .fill_RegisterReq = fill_register,
    .on_RegisterRsp = on_register_reply,
    .fill_LoginReq = fill_login,
    .on_LoginRsp = on_login_reply,
    .fill_Ping = fill_ping,
    .on_CoinCommand = on_coin_command,
    .on_Pong = on_pong,
    .on_QueryRsp = on_query_reply,
    .on_ErrorMsg = on_error_message,
    .on_event = on_event,
    .on_report = on_report,
};

/* ---- main loop ------------------------------------------------------------------------------------ */

static app the_app;

static int run(const device_options *o) {
  app *a = &the_app;
  a->options = o;
  a->started_ms = monotonic_ms();
  a->now_ms = a->started_ms;
  snprintf(a->device_id, sizeof a->device_id, "dev-%s", o->sn);
  log_line("device %s starting: server %s:%u, %s%s", o->sn, o->host, (unsigned)o->port,
           o->cert_file[0] ? "client certificate " : "no client certificate", o->cert_file);

  pn_openssl_config tls = {o->ca_file, o->cert_file[0] ? o->cert_file : NULL, o->key_file[0] ? o->key_file : NULL,
                           NULL, false};
  if (pn_openssl_init(&a->tls, &tls) != PN_OK) {
    log_line("ERROR TLS setup failed: %s", pn_openssl_error(&a->tls));
    return 1;
  }
  if (pn_file_storage_open(&a->storage, o->record_file) != PN_OK) {
    log_line("ERROR cannot open the record of executed commands %s: %s%s", o->record_file, strerror(errno),
             errno == EWOULDBLOCK ? " (another process of this device holds it)" : "");
    pn_openssl_free(&a->tls);
    return 1;
  }
  static uint64_t rng;
  rng = random_seed();
  pn_client_config cfg = {0};
  cfg.host = o->host;
  cfg.port = o->port;
  cfg.heartbeat_interval_ms = o->heartbeat_ms;
  cfg.backoff_initial_ms = o->backoff_initial_ms;
  cfg.backoff_max_ms = o->backoff_max_ms;
  cfg.random = random_u32;
  cfg.random_ctx = &rng;
  pn_status status = paybox_device_init(&a->device, &cfg, pn_openssl_transport(&a->tls),
                                        pn_file_storage_interface(&a->storage), &handlers, a);
  if (status != PN_OK) {
    log_line("ERROR cannot start: %s (record %s)", pn_status_name(status), o->record_file);
    pn_file_storage_close(&a->storage);
    pn_openssl_free(&a->tls);
    return 1;
  }
  log_line("record of executed commands: %s (%u remembered)", o->record_file,
           (unsigned)pn_record_count(&a->device.record));
  paybox_device_start(&a->device, a->now_ms);
  while (stop_signal == 0) {
    a->now_ms = monotonic_ms();
    uint32_t sleep = paybox_device_tick(&a->device, a->now_ms);
    uint32_t coin_sleep = coins_step(a, a->now_ms);
    if (coin_sleep < sleep) sleep = coin_sleep;
    if (sleep == 0) continue;
    bool want_write = false;
    int fd = pn_client_poll_fd(&a->device.client, &want_write);
    struct pollfd pfd = {fd, (short)(want_write ? POLLOUT : POLLIN), 0};
    int timeout = sleep > 60000u ? 60000 : (int)sleep;
    if (poll(&pfd, fd >= 0 ? 1u : 0u, timeout) < 0 && errno != EINTR) break;
  }
  log_line("stopping (%s)", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
  paybox_device_stop(&a->device);
  pn_file_storage_close(&a->storage);
  pn_openssl_free(&a->tls);
  log_line("stopped");
  return 0;
}

int main(int argc, char **argv) {
  device_options options;
  int parsed = parse_device_options(argc, argv, &options);
  if (parsed == 1) return 0;
  if (parsed != 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  return run(&options);
}
