/* The example payment box: its state, log and coin mechanism. */
#ifndef C_DEVICE_DEVICE_H
#define C_DEVICE_DEVICE_H

#include <paynet/pn_file_storage.h>
#include <paynet/pn_openssl.h>

#include "options.h"
#include "paybox_device.h"

/** Orders the coin mechanism holds at once; more are answered FAILED ("busy"). */
#define COIN_JOBS 4

typedef struct coin_job {
  bool active;
  paybox_command cmd;
  char order_id[paybox_CoinCommand_order_id_MAX_SIZE + 1];
  uint32_t coins;
  uint32_t dispensed;
  uint64_t next_at;
  uint64_t deadline;
  uint32_t timeout_s;
} coin_job;

typedef struct app {
  const device_options *options;
  paybox_device device;
  pn_openssl tls;
  pn_file_storage storage;
  uint64_t started_ms;
  uint64_t now_ms;
  char device_id[paybox_LoginReq_device_id_MAX_SIZE + 1];
  char last_order[paybox_CoinCommand_order_id_MAX_SIZE + 1];
  unsigned online_count;
  coin_job jobs[COIN_JOBS];
} app;

void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Milliseconds of the monotonic clock. */
uint64_t monotonic_ms(void);
/** Milliseconds since the epoch (for Ping timestamps). */
uint64_t wall_clock_ms(void);

/** Starts executing a new order (answered ACCEPTED at once). */
void coins_start(app *a, paybox_command cmd, const paybox_CoinCommand *command);
/** Dispenses what is due; returns milliseconds until the next coin (UINT32_MAX: nothing running). */
uint32_t coins_step(app *a, uint64_t now_ms);
/** "ACCEPTED", "RUNNING", ... */
const char *coin_state_name(int32_t state);

#endif
