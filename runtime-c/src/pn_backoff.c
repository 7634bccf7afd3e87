/* Full-jitter exponential backoff, spread after a lost session (see pn_backoff.h). */
#include "paynet/pn_backoff.h"

void pn_backoff_init(pn_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint32_t spread_ms,
                     pn_random_fn random, void *random_ctx) {
  b->initial_ms = initial_ms;
  b->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
  b->spread_ms = spread_ms;
  b->random = random;
  b->random_ctx = random_ctx;
  b->attempt = 0;
  b->session_lost = false;
}

uint32_t pn_random_upto(pn_random_fn random, void *ctx, uint32_t bound) {
  /* Multiply-shift maps 32 random bits onto [0, bound] without a modulo's bias towards low values. */
  return (uint32_t)(((uint64_t)random(ctx) * ((uint64_t)bound + 1u)) >> 32);
}

uint32_t pn_backoff_ceiling(const pn_backoff *b) {
  uint64_t step = b->initial_ms;
  for (uint32_t i = 0; i < b->attempt && step < b->max_ms; i++) step *= 2u;
  if (step > b->max_ms) step = b->max_ms;
  /* A server restart drops a whole fleet at once, young sessions and old: while the step is shorter
   * than the spread window, every attempt until the next login is spread over all of it, so the
   * fleet comes back evenly and the devices that tried too early do not return together. */
  if (b->session_lost && step < b->spread_ms) return b->spread_ms;
  return (uint32_t)step;
}

uint32_t pn_backoff_next(pn_backoff *b) {
  uint32_t ceiling = pn_backoff_ceiling(b);
  if (b->attempt < UINT32_MAX) b->attempt++;
  return pn_random_upto(b->random, b->random_ctx, ceiling);
}

void pn_backoff_reset(pn_backoff *b) {
  b->attempt = 0;
}

void pn_backoff_session_lost(pn_backoff *b) {
  b->session_lost = true;
}
