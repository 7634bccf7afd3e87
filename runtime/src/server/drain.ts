/**
 * Lame-duck drain of a server (e.g. on SIGTERM before a deploy): keep serving for a grace period
 * while load balancers notice the node is going (readiness fails), close the listener, then close
 * the sessions at a bounded rate, each told with the protocol's error message that the server
 * drains, so the fleet reconnects to the other nodes spread out instead of in one burst. Last, the
 * handlers still running get time to finish.
 */
import { ServerDrainingError } from "../errors.js";
import type { Logger } from "../logger.js";
import { nonNegativeInteger, positiveNumber } from "../option-checks.js";
import type { ServerSession } from "./session.js";

/** Default sessions closed per second during a drain. */
export const DEFAULT_EVICT_PER_SECOND = 500;

/** Options of `server.drain()`. */
export interface DrainOptions {
  /**
   * How long the listener stays open (new devices still admitted, everything served as usual) after
   * the drain started, so that load balancers see the failing readiness check first. Default 0.
   */
  graceMs?: number;
  /** Sessions closed per second once the listener is closed. Default {@link DEFAULT_EVICT_PER_SECOND}. */
  evictPerSecond?: number;
  /** Time the handlers still running after the last eviction get to finish. Default `stopGraceMs`. */
  handlerGraceMs?: number;
}

/** What a drain did, for the log line an operator reads after a deploy. */
export interface DrainReport {
  /** Sessions open when the listener closed. */
  readonly sessions: number;
  /** Sessions closed by the drain (the others closed by themselves meanwhile). */
  readonly evicted: number;
  readonly graceMs: number;
  readonly evictPerSecond: number;
  /** From the drain's start to the server stopped. */
  readonly durationMs: number;
  /** From the first eviction to the last. */
  readonly evictionMs: number;
  /** Handlers still running when the handler grace period ended (0 when all finished). */
  readonly handlersUnfinished: number;
}

/** A phase of a drain, as the server's `draining` event tells it. */
export type DrainPhase =
  /** The drain started; the listener stays open for `graceMs`. */
  | { readonly phase: "grace"; readonly sessions: number; readonly graceMs: number }
  /** The listener is closed; `sessions` are being closed at `evictPerSecond`. */
  | { readonly phase: "evicting"; readonly sessions: number; readonly evictPerSecond: number };

/** What the drain needs from its server. */
export interface DrainHost {
  readonly logger: Logger;
  /** The server's live sessions (they leave the set as they close). */
  readonly sessions: ReadonlySet<ServerSession>;
  /** Stops accepting connections at once (half-open handshakes are refused). */
  closeListener(): void;
  /**
   * Tells `session` with the error message that the server drains and closes it once its handlers
   * are idle, flushing what it queued; resolves once it is closed.
   */
  evict(session: ServerSession, reason: ServerDrainingError): Promise<void>;
  /** Resolves once no handler runs or `ms` passed; with the number still running. */
  handlersIdle(ms: number): Promise<number>;
  /** Announces a phase of the drain (the server's `draining` event). */
  announce(info: DrainPhase): void;
  /** Destroys the sessions still open (their handlers outlived the grace period). */
  destroyRemaining(reason: ServerDrainingError): void;
}

/** Drain options after validation. */
export interface ResolvedDrainOptions {
  readonly graceMs: number;
  readonly evictPerSecond: number;
  readonly handlerGraceMs: number;
}

/** Validates `options`; throws `InvalidOptionsError` naming the bad one. */
export function resolveDrainOptions(options: DrainOptions, stopGraceMs: number): ResolvedDrainOptions {
  const graceMs = options.graceMs ?? 0;
  const evictPerSecond = options.evictPerSecond ?? DEFAULT_EVICT_PER_SECOND;
  const handlerGraceMs = options.handlerGraceMs ?? stopGraceMs;
  nonNegativeInteger("graceMs", graceMs);
  positiveNumber("evictPerSecond", evictPerSecond);
  nonNegativeInteger("handlerGraceMs", handlerGraceMs);
  return { graceMs, evictPerSecond, handlerGraceMs };
}

/** Runs one drain on `host`; resolves with its figures once every session is closed. */
export async function runDrain(host: DrainHost, options: ResolvedDrainOptions): Promise<DrainReport> {
  const started = Date.now();
  const { graceMs, evictPerSecond, handlerGraceMs } = options;
  host.logger.info(
    { sessions: host.sessions.size, graceMs, evictPerSecond, handlerGraceMs },
    "draining: listener open for the grace period",
  );
  host.announce({ phase: "grace", sessions: host.sessions.size, graceMs });
  if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
  host.closeListener();
  // No session can be admitted any more: this list is every session there will be.
  const queue = [...host.sessions];
  host.logger.info(
    { sessions: queue.length, evictPerSecond },
    "draining: listener closed, evicting sessions",
  );
  host.announce({ phase: "evicting", sessions: queue.length, evictPerSecond });
  const evictionStarted = Date.now();
  const closing: Promise<void>[] = [];
  let evicted = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    // A token bucket read on a timer: after t ms at most 1 + t × rate / 1000 evictions have started.
    const tickMs = Math.min(250, Math.max(10, Math.floor(1000 / evictPerSecond)));
    const tick = () => {
      const allowed = 1 + Math.floor(((Date.now() - evictionStarted) * evictPerSecond) / 1000);
      while (evicted < allowed && next < queue.length) {
        const session = queue[next++]!;
        if (session.closedReason !== undefined) continue;
        evicted++;
        closing.push(host.evict(session, new ServerDrainingError({ peer: session.peer })));
      }
      if (next >= queue.length) resolve();
      else setTimeout(tick, tickMs);
    };
    tick();
  });
  const evictionMs = Date.now() - evictionStarted;
  const handlersUnfinished = await host.handlersIdle(handlerGraceMs);
  if (handlersUnfinished > 0) {
    host.logger.warn(
      { handlersUnfinished, handlerGraceMs },
      "drain: handlers still running after the grace period",
    );
  }
  host.destroyRemaining(new ServerDrainingError());
  await Promise.all(closing);
  const report: DrainReport = {
    sessions: queue.length,
    evicted,
    graceMs,
    evictPerSecond,
    durationMs: Date.now() - started,
    evictionMs,
    handlersUnfinished,
  };
  host.logger.info({ ...report }, "drained");
  return report;
}
