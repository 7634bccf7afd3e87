/*
 * The device's coin mechanism: executes a CoinCommand coin by coin, driven by the main loop, and
 * reports every step with a CoinAck (ACCEPTED, RUNNING per coin, then DONE, or FAILED past the
 * command's timeout). A command whose order id was executed before never gets here: the
 * generated SDK answers it from the device's record.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "device.h"

const char *coin_state_name(int32_t state) {
  switch (state) {
    case paybox_CoinState_COIN_ACCEPTED: return "ACCEPTED";
    case paybox_CoinState_COIN_RUNNING: return "RUNNING";
    case paybox_CoinState_COIN_DONE: return "DONE";
    case paybox_CoinState_COIN_FAILED: return "FAILED";
    default: return "UNKNOWN";
  }
}

static void ack(app *a, paybox_command cmd, const char *order_id, int32_t state, uint32_t progress, const char *error) {
  paybox_CoinAck message;
  paybox_CoinAck_init(&message);
  (void)PN_SET_STRING(message.order_id, order_id);
  message.state = state;
  message.progress = progress;
  (void)PN_SET_STRING(message.error, error);
  log_line("-> CoinAck order=%s state=%s progress=%u%s%s%s", order_id, coin_state_name(state), (unsigned)progress,
           error[0] == '\0' ? "" : " error=\"", error, error[0] == '\0' ? "" : "\"");
  pn_status status = paybox_reply_CoinCommand(&a->device, cmd, &message);
  if (status == PN_ERR_NOT_CONNECTED) {
    log_line("CoinAck order=%s recorded while offline: the cloud's redelivery is answered from the record", order_id);
  } else if (status != PN_OK) {
    log_line("WARN CoinAck order=%s not sent: %s", order_id, pn_status_name(status));
  }
}

void coins_start(app *a, paybox_command cmd, const paybox_CoinCommand *command) {
  const char *order_id = command->order_id.data;
  snprintf(a->last_order, sizeof a->last_order, "%s", order_id);
  coin_job *job = NULL;
  for (unsigned i = 0; i < COIN_JOBS && job == NULL; i++) {
    if (!a->jobs[i].active) job = &a->jobs[i];
  }
  if (job == NULL) {
    ack(a, cmd, order_id, paybox_CoinState_COIN_FAILED, 0, "busy: the coin mechanism runs other orders");
    return;
  }
  log_line("executing order %s: %u coin(s)", order_id, (unsigned)command->coins);
  memset(job, 0, sizeof *job);
  job->active = true;
  job->cmd = cmd;
  snprintf(job->order_id, sizeof job->order_id, "%s", order_id);
  job->coins = command->coins;
  job->timeout_s = command->timeout;
  job->next_at = a->now_ms + a->options->coin_ms;
  job->deadline = command->timeout > 0 ? a->now_ms + (uint64_t)command->timeout * 1000u : UINT64_MAX;
  ack(a, cmd, order_id, paybox_CoinState_COIN_ACCEPTED, 0, "");
  if (job->coins == 0) {
    ack(a, cmd, order_id, paybox_CoinState_COIN_DONE, 100, "");
    job->active = false;
  }
}

uint32_t coins_step(app *a, uint64_t now_ms) {
  uint64_t next = UINT64_MAX;
  for (unsigned i = 0; i < COIN_JOBS; i++) {
    coin_job *job = &a->jobs[i];
    while (job->active && now_ms >= job->next_at) {
      job->dispensed++;
      uint32_t progress = (uint32_t)((uint64_t)job->dispensed * 100u / job->coins);
      if (now_ms > job->deadline) {
        char error[96];
        snprintf(error, sizeof error, "timed out after %us at coin %u/%u", (unsigned)job->timeout_s,
                 (unsigned)job->dispensed, (unsigned)job->coins);
        ack(a, job->cmd, job->order_id, paybox_CoinState_COIN_FAILED, progress, error);
        job->active = false;
        break;
      }
      ack(a, job->cmd, job->order_id, paybox_CoinState_COIN_RUNNING, progress, "");
      if (job->dispensed == job->coins) {
        ack(a, job->cmd, job->order_id, paybox_CoinState_COIN_DONE, 100, "");
        job->active = false;
        break;
      }
      job->next_at += a->options->coin_ms;
    }
    if (job->active && job->next_at < next) next = job->next_at;
  }
  if (next == UINT64_MAX) return UINT32_MAX;
  return next <= now_ms ? 0 : (uint32_t)(next - now_ms);
}
