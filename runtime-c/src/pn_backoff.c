/* Full-jitter exponential backoff (see pn_backoff.h). */
#include "paynet/pn_backoff.h"

void pn_backoff_init(pn_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint32_t spread_ms,
                     pn_random_fn random, void *random_ctx) {
  b->initial_ms = initial_ms;
  b->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
  b->spread_ms = spread_ms;
  b->random = random;
  b->random_ctx = random_ctx;
  b->attempt = 0;
  b->after_online = false;
}

uint32_t pn_random_upto(pn_random_fn random, void *ctx, uint32_t bound) {
  /* Multiply-shift maps 32 random bits onto [0, bound] without a modulo's bias towards low values. */
  return (uint32_t)(((uint64_t)random(ctx) * ((uint64_t)bound + 1u)) >> 32);
}

uint32_t pn_backoff_ceiling(const pn_backoff *b) {
  if (b->after_online && b->spread_ms > 0) return b->spread_ms;
  uint64_t ceiling = b->initial_ms;
  for (uint32_t i = 0; i < b->attempt && ceiling < b->max_ms; i++) ceiling *= 2u;
  return ceiling > b->max_ms ? b->max_ms : (uint32_t)ceiling;
}

uint32_t pn_backoff_next(pn_backoff *b) {
  uint32_t ceiling = pn_backoff_ceiling(b);
  if (b->after_online) b->after_online = false;
  else if (b->attempt < UINT32_MAX) b->attempt++;
  return pn_random_upto(b->random, b->random_ctx, ceiling);
}

void pn_backoff_reset(pn_backoff *b) {
  b->attempt = 0;
  b->after_online = true;
}
