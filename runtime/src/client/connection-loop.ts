/**
 * The device client's lifecycle, as one loop: connect (with the cached TLS ticket) → login flow →
 * online (heartbeat, flush of held acks and the offline queue) → connection lost → jittered backoff
 * → again, until the client stops, a login is refused with policy `stop` or `reconnect.maxAttempts`
 * is used up. {@link PaynetClient} runs it and keeps the public API; what the loop needs of the
 * client is a {@link LoopHost}.
 */
import { performance } from "node:perf_hooks";
import type { MessageDef, RequestSpec } from "../codec.js";
import {
  AbortedError,
  ConnectionClosedError,
  HandlerError,
  HandshakeFailedError,
  LoginRefusedError,
  LoginTimeoutError,
  PaynetError,
  RequestTimeoutError,
  SessionReplacedError,
} from "../errors.js";
import { LatencyHistogram, type TrafficStats } from "../stats.js";
import type { TimerWheel } from "../timers.js";
import { TicketCache } from "../tls/ticket-cache.js";
import { backoffDelay, reconnectSpreadDelay, replacedBackoffDelay } from "./backoff.js";
import { connectTls, type PendingConnect } from "./connect.js";
import { HeartbeatMonitor } from "./heartbeat.js";
import { ClientLink } from "./link.js";
import { type LoginStepName, runLoginFlow } from "./login.js";
import type { ResolvedClientOptions } from "./options.js";
import { asPaynetError } from "./outbound.js";
import type { ClientEvents, ClientOptions, ClientStats, ServerAddress } from "./types.js";

/** What the loop needs of its client. */
export interface LoopHost {
  readonly options: ClientOptions;
  readonly config: ResolvedClientOptions;
  readonly wheel: TimerWheel;
  readonly traffic: TrafficStats;
  /**
   * The client still runs (not stopping). A method, like the other hosts' state checks: an object
   * literal with a getter is a dictionary-mode object in V8, every read of it a generic lookup.
   */
  isRunning(): boolean;
  emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): void;
  report(error: PaynetError): void;
  /** One inbound frame of `link`. */
  dispatch(link: ClientLink, type: number, payload: Buffer): void;
  /** Logged in on `link`: what waited for the connection goes out now. */
  wentOnline(link: ClientLink): void;
  /** A Type the client sends or receives, named for the stats. */
  noteName(def: MessageDef<unknown>): void;
}

/** How one connection attempt ended. */
interface AttemptOutcome {
  /** Login succeeded. */
  readonly wentOnline: boolean;
  /** The session stayed online for `stableAfterMs` (its drop restarts the backoff). */
  readonly stable?: boolean;
  readonly error: PaynetError | undefined;
  /** The client must stop (login refused with policy `stop`). */
  readonly fatal: boolean;
}

export class ConnectionLoop {
  readonly #host: LoopHost;
  readonly #tickets = new TicketCache();
  readonly #counters = { connects: 0, reconnects: 0, handshakes: { full: 0, resumed: 0, failed: 0 } };
  /** Heartbeat round trips (heartbeat sent → its reply received), when the reply Type is known. */
  readonly #heartbeatRtt = new LatencyHistogram();
  /** -1 never matches a Type byte: no reply configured, no round trip measured. */
  readonly #heartbeatReplyType: number;
  #heartbeatsSent = 0;
  /** `performance.now()` of the heartbeat still waiting for its reply. */
  #heartbeatSentAt: number | undefined;
  #lastRttMs: number | undefined;

  #link: ClientLink | undefined;
  #online = false;
  #resumed = false;
  #connecting: PendingConnect | undefined;
  #pause: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #heartbeat: HeartbeatMonitor | undefined;
  /** Index in `config.addresses` of the server the next attempt connects to. */
  #address = 0;

  constructor(host: LoopHost) {
    this.#host = host;
    this.#heartbeatReplyType = host.options.heartbeat?.reply?.type ?? -1;
  }

  /** The current connection (logged in or not), if any. */
  get link(): ClientLink | undefined {
    return this.#link;
  }

  /** True between a successful login and the loss of that connection. */
  get online(): boolean {
    return this.#online;
  }

  /** Whether the last TLS handshake resumed a cached session. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** The loop's part of {@link ClientStats}. */
  stats(): Pick<ClientStats, "connects" | "reconnects" | "handshakes" | "heartbeat"> {
    return {
      connects: this.#counters.connects,
      reconnects: this.#counters.reconnects,
      handshakes: { ...this.#counters.handshakes },
      heartbeat: {
        sent: this.#heartbeatsSent,
        lastRttMs: this.#lastRttMs,
        rtt: this.#heartbeatRtt.snapshot(),
      },
    };
  }

  /**
   * Runs until the client stops (resolves with `undefined`) or must stop on its own (resolves with
   * the cause: the refusal, or the last connection error once `maxAttempts` is used up).
   */
  async run(): Promise<PaynetError | undefined> {
    // Let the caller attach listeners after start() before the first event.
    await Promise.resolve();
    const host = this.#host;
    const policy = host.config.backoff;
    let attempt = 0;
    let failures = 0;
    /**
     * The last session was lost (not replaced) and the device is not logged in again yet: delays are
     * spread over `spreadMs`, since a server restart drops every session at once, young or old.
     */
    let lostSession = false;
    let replaced = false;
    let lastError: PaynetError | undefined;
    while (host.isRunning()) {
      attempt++;
      if (attempt > policy.maxAttempts) {
        return (
          lastError ?? new ConnectionClosedError(`gave up after ${policy.maxAttempts} attempts`, this.#peer())
        );
      }
      if (failures > 0) {
        const random = host.config.random;
        const delayMs = replaced
          ? replacedBackoffDelay(failures, policy, random)
          : lostSession
            ? reconnectSpreadDelay(policy, random, failures)
            : backoffDelay(failures, policy, random);
        this.#counters.reconnects++;
        host.emit("reconnecting", { attempt, delayMs });
        await this.#sleep(delayMs);
        if (!host.isRunning()) return undefined;
      }
      const { host: address, port } = this.#server();
      host.emit("connecting", { attempt, host: address, port });
      const outcome = await this.#attempt();
      lastError = outcome.error;
      if (outcome.fatal) return outcome.error;
      // The next attempt goes to the next server of the list (with one server: the same one).
      this.#address = (this.#address + 1) % host.config.addresses.length;
      // maxAttempts counts attempts that never got online; the backoff restarts only after a
      // stable session, so sessions that keep ending right after login back off like failures.
      replaced = outcome.error instanceof SessionReplacedError;
      if (outcome.wentOnline) {
        attempt = 0;
        lostSession = !replaced;
      }
      failures = outcome.stable === true && !replaced ? 1 : failures + 1;
    }
    return undefined;
  }

  /**
   * The client stops: a connect or backoff in progress is cancelled, outstanding requests fail with
   * `AbortedError`, and the connection is closed after flushing what is queued on it.
   */
  halt(reason: PaynetError): void {
    this.#pause?.wake();
    this.#connecting?.cancel(new AbortedError(this.#peer()));
    this.#heartbeat?.stop();
    const link = this.#link;
    if (link !== undefined) {
      link.router.failAll(new AbortedError({ peer: link.peer }));
      link.close(reason);
    }
  }

  /** The loop has ended: nothing is left running. */
  reset(): void {
    this.#online = false;
    this.#link = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
  }

  /** One connection: connect, log in, serve until it ends. */
  async #attempt(): Promise<AttemptOutcome> {
    const host = this.#host;
    const link = await this.#connect();
    if (link instanceof PaynetError) return { wentOnline: false, error: link, fatal: false };
    if (link === undefined) return { wentOnline: false, error: undefined, fatal: false };

    const login = host.options.login;
    const loginTimeoutMs = host.config.loginTimeoutMs;
    if (login !== undefined && loginTimeoutMs !== undefined) {
      try {
        await runLoginFlow(
          login,
          loginTimeoutMs,
          (spec, message, timeoutMs, step) => this.#loginRequest(link, spec, message, timeoutMs, step),
          link.peer,
        );
      } catch (error) {
        const reason = asPaynetError(error);
        link.destroy(reason);
        await link.closed;
        this.#link = undefined;
        if (!host.isRunning()) return { wentOnline: false, error: reason, fatal: false };
        if (reason instanceof LoginRefusedError) {
          host.emit("loginRefused", reason);
          host.report(reason);
          const verdict = this.#decideOnRefusal(login.onRefused, reason);
          return { wentOnline: false, error: reason, fatal: verdict === "stop" };
        }
        host.report(reason);
        return { wentOnline: false, error: reason, fatal: false };
      }
    }
    if (link.isClosed || !host.isRunning()) {
      const reason = await link.closed;
      this.#link = undefined;
      return { wentOnline: false, error: reason, fatal: false };
    }

    this.#goOnline(link);
    const onlineAt = performance.now();
    const reason = await link.closed;
    const stable = performance.now() - onlineAt >= host.config.backoff.stableAfterMs;
    this.#online = false;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#link = undefined;
    host.emit("offline", reason);
    return { wentOnline: true, stable, error: reason, fatal: false };
  }

  /** TCP + TLS; returns the new link, the error (already reported), or `undefined` when stopped. */
  async #connect(): Promise<ClientLink | PaynetError | undefined> {
    const host = this.#host;
    const { host: address, port } = this.#server();
    const tls = host.options.tls;
    const pending = connectTls({
      host: address,
      port,
      tls,
      timeoutMs: host.config.connectTimeoutMs,
      tickets: this.#tickets,
      wheel: host.wheel,
    });
    this.#connecting = pending;
    let connected: Awaited<PendingConnect["result"]>;
    try {
      connected = await pending.result;
    } catch (error) {
      const reason = asPaynetError(error);
      if (!host.isRunning()) return undefined;
      if (reason instanceof HandshakeFailedError) this.#counters.handshakes.failed++;
      host.report(reason);
      return reason;
    } finally {
      this.#connecting = undefined;
    }
    if (!host.isRunning()) {
      connected.socket.destroy();
      return undefined;
    }
    this.#counters.connects++;
    this.#counters.handshakes[connected.resumed ? "resumed" : "full"]++;
    this.#resumed = connected.resumed;
    const { lengthMode, outboundQueue } = host.options;
    const link = new ClientLink(
      connected.socket,
      connected.resumed,
      {
        peer: `${address}:${port}`,
        wheel: host.wheel,
        stats: host.traffic,
        maxFrame: host.config.maxFrame,
        ...(lengthMode === undefined ? {} : { lengthMode }),
        ...(outboundQueue === undefined ? {} : { outboundQueue }),
      },
      (origin, type, payload) => {
        if (type === this.#heartbeatReplyType) this.#heartbeatAnswered();
        host.dispatch(origin, type, payload);
      },
    );
    this.#link = link;
    if (connected.resumed) this.#dropTicketIfRefused(link, connected.ticketKey);
    host.emit("connected", { resumed: connected.resumed });
    return link;
  }

  /**
   * A server refuses a resumed session whose certificate no longer passes its trust (CA dropped,
   * revoked) by closing it before any frame. Offering the same ticket again would only be refused
   * again; without it the next connect does a full handshake and fails (or passes) on its own terms.
   */
  #dropTicketIfRefused(link: ClientLink, ticketKey: string): void {
    void link.closed.then(() => {
      if (link.receivedFrame) return;
      this.#tickets.delete(ticketKey);
      this.#host.config.logger.debug(
        { peer: link.peer },
        "resumed connection ended before the first frame: TLS ticket dropped, the next connect does a full handshake",
      );
    });
  }

  async #loginRequest(
    link: ClientLink,
    spec: RequestSpec<unknown, unknown>,
    message: unknown,
    timeoutMs: number,
    step: LoginStepName,
  ): Promise<unknown> {
    this.#host.noteName(spec.request);
    try {
      return await link.request(spec, message, { timeoutMs }).finalReply();
    } catch (error) {
      if (error instanceof RequestTimeoutError)
        throw new LoginTimeoutError(step, timeoutMs, { peer: link.peer });
      throw error;
    }
  }

  #decideOnRefusal(onRefused: ((error: PaynetError) => "retry" | "stop") | undefined, error: PaynetError) {
    try {
      return onRefused?.(error) ?? "retry";
    } catch (cause) {
      this.#host.report(new HandlerError({ peer: error.peer ?? "", cause }));
      return "retry";
    }
  }

  #goOnline(link: ClientLink): void {
    const host = this.#host;
    this.#online = true;
    this.#heartbeatSentAt = undefined;
    const heartbeat = host.options.heartbeat;
    const timings = host.config.heartbeat;
    if (heartbeat !== undefined && timings !== undefined) {
      host.noteName(heartbeat.def);
      this.#heartbeat = new HeartbeatMonitor(host.wheel, timings, {
        sendHeartbeat: () => {
          link.write(heartbeat.def.type, heartbeat.def.codec.encode(heartbeat.build()));
          this.#heartbeatsSent++;
          // One round trip at a time: a heartbeat sent while one is unanswered does not restart it.
          this.#heartbeatSentAt ??= performance.now();
        },
        // Monotonic: a wall-clock jump (NTP after a 4G attach) must not fake or hide a dead peer.
        lastReceivedAt: () => link.connection.lastByteMonotonic,
        now: () => performance.now(),
        onDead: (error) => link.destroy(error),
        onError: (error) => host.report(asPaynetError(error, link.peer)),
        peer: link.peer,
      });
      this.#heartbeat.start();
    }
    host.wentOnline(link);
    host.emit("online", { resumed: link.resumed });
  }

  #heartbeatAnswered(): void {
    const sentAt = this.#heartbeatSentAt;
    if (sentAt === undefined) return;
    this.#heartbeatSentAt = undefined;
    const rttMs = performance.now() - sentAt;
    this.#lastRttMs = rttMs;
    this.#heartbeatRtt.observe(rttMs);
  }

  /** Waits `ms` on a real (ref'd) timer: a device in backoff must not let the process exit. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#pause = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#pause = { timer, wake };
    });
  }

  /** The server of the current (or next) attempt. */
  #server(): ServerAddress {
    return this.#host.config.addresses[this.#address]!;
  }

  #peer(): { peer: string } {
    const { host, port } = this.#server();
    return { peer: `${host}:${port}` };
  }
}
