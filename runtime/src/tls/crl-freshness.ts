/**
 * Reports CRLs past their `nextUpdate`: one log line per CRL, the moment it goes stale (one timer
 * to the next `nextUpdate`, not a poll), when it is loaded stale, or when a handshake meets it.
 */
import type { Logger } from "../logger.js";
import type { CrlInfo } from "./revocation.js";
import type { StaleCrlPolicy, TrustPolicy } from "./trust-policy.js";

/** Longest delay `setTimeout` takes (~24.8 days); a later `nextUpdate` is waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** See the module comment. One per server; {@link watch} it again after every reload. */
export class CrlFreshness {
  readonly #logger: Logger;
  readonly #mode: StaleCrlPolicy;
  #policy: TrustPolicy | undefined;
  /** CRLs of the watched policy already logged (a reload brings new CRL objects). */
  #reported = new Set<CrlInfo>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, mode: StaleCrlPolicy) {
    this.#logger = logger;
    this.#mode = mode;
  }

  /** Watches the CRLs of `policy` from now on: logs those stale now, arms the timer for the next. */
  watch(policy: TrustPolicy, now = Date.now()): void {
    this.close();
    this.#policy = policy;
    this.#reported = new Set();
    this.#check(now);
  }

  /** Logs `crl` (met stale by a handshake) unless it was already. */
  report(crl: CrlInfo): void {
    if (this.#reported.has(crl) || this.#policy === undefined) return;
    this.#reported.add(crl);
    const consequence =
      this.#mode === "fail"
        ? "devices under its issuer are refused"
        : 'devices are still let in (tls.staleCrl "warn")';
    this.#logger.warn(
      { crl: crl.position, nextUpdate: crl.nextUpdate?.toISOString(), staleCrl: this.#mode },
      `${this.#policy.describeCrl(crl)} is past its nextUpdate: revocations issued since may be missing; ${consequence} until a fresh CRL is loaded`,
    );
  }

  /** How many CRLs are stale at `now` (logging any not logged yet). */
  staleCount(now = Date.now()): number {
    const stale = this.#policy?.revocations.staleCrls(now) ?? [];
    for (const crl of stale) this.report(crl);
    return stale.length;
  }

  /** Stops the timer (the server stopped). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(now: number): void {
    this.staleCount(now);
    let next = Number.POSITIVE_INFINITY;
    for (const crl of this.#policy?.revocations.crls ?? []) {
      const at = crl.nextUpdate?.getTime();
      if (at !== undefined && at >= now && at < next) next = at;
    }
    if (next === Number.POSITIVE_INFINITY) return;
    // +1: a CRL is stale strictly after its nextUpdate.
    this.#timer = setTimeout(() => this.#check(Date.now()), Math.min(next - now + 1, MAX_TIMER_MS));
    this.#timer.unref();
  }
}
