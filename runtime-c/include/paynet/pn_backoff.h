/*
 * Reconnect delays with "full jitter": attempt n waits a uniformly random time in
 * [0, min(max_ms, initial_ms * 2^n)], so a fleet that lost its server at one moment does not come
 * back at one moment, and devices whose early attempts failed do not return together later. Once a
 * session was lost, however long it had lasted, every attempt until the next login waits a uniform
 * time in [0, spread_ms] instead while that ceiling is shorter than spread_ms (the rule of the
 * TypeScript client's reconnectSpreadDelay). The random source is injected (a hardware RNG, or a
 * seeded generator in tests).
 */
#ifndef PAYNET_PN_BACKOFF_H
#define PAYNET_PN_BACKOFF_H

#include "pn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns 32 uniformly random bits. */
typedef uint32_t (*pn_random_fn)(void *ctx);

typedef struct pn_backoff {
  uint32_t initial_ms;
  uint32_t max_ms;
  uint32_t spread_ms;
  pn_random_fn random;
  void *random_ctx;
  /** Failed attempts since the last reset. */
  uint32_t attempt;
  /** A session was lost: the delays are spread over spread_ms while the backoff step is shorter. */
  bool session_lost;
} pn_backoff;

void pn_backoff_init(pn_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint32_t spread_ms,
                     pn_random_fn random, void *random_ctx);
/**
 * The ceiling of the next delay (before jitter): the step min(max_ms, initial_ms * 2^attempt), or
 * spread_ms when a session was lost and the step is shorter.
 */
uint32_t pn_backoff_ceiling(const pn_backoff *b);
/** The next delay, uniform in [0, ceiling]; counts the attempt. */
uint32_t pn_backoff_next(pn_backoff *b);
/** Back to the initial delay (a session stayed up long enough). */
void pn_backoff_reset(pn_backoff *b);
/** A session that had been online was lost: spread the delays from now on (see pn_backoff_ceiling). */
void pn_backoff_session_lost(pn_backoff *b);
/** A uniformly random number in [0, bound]. */
uint32_t pn_random_upto(pn_random_fn random, void *ctx, uint32_t bound);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_BACKOFF_H */
