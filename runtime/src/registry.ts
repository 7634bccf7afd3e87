import type { MessageDef } from "./codec.js";
import { DuplicateRegistrationError, InvalidOptionsError, type LoginNotAuthorizedError } from "./errors.js";

/**
 * Handles one inbound message. When the registration names a `reply` and the handler returns a value
 * other than `undefined`, that value is sent back to the peer as the reply message.
 */
export type Handler<T, Ctx, R = unknown> = (message: T, ctx: Ctx) => R | undefined | Promise<R | undefined>;

/** How one inbound Type is handled. */
export interface RegistrationOptions<T, Ctx, R> {
  handler?: Handler<T, Ctx, R>;
  /** Message that answers this one (sent with the handler's return value or `ctx.reply()`). */
  reply?: MessageDef<R>;
  /**
   * Device side: correlation value of a command. A command whose value was seen before (for this
   * message) is not executed again; the last reply recorded for it is re-sent instead. An empty value
   * is refused with `CorrelationMissingError`, never deduplicated.
   */
  idempotencyKey?: (message: T) => string;
  /**
   * Device side, with `idempotencyKey`: the protocol's final failure reply to `message` (e.g. a
   * `CoinAck` in state `COIN_FAILED` with `reason` as its error). Sent when the command cannot
   * complete: its handler threw, or its execution was interrupted by a crash (the command is then
   * never run again). Without it, such commands are answered with the error message only.
   */
  failureReply?: (message: T, reason: string) => R;
  /**
   * Server side: this Type belongs to the login flow (register, login, heartbeat) and is accepted
   * from a connection that has not logged in yet. Every other Type before login closes the
   * connection with `LOGIN_REQUIRED`. The generated SDK marks the messages of its REGISTER, LOGIN
   * and HEARTBEAT roles. When no registration of a registry is marked, every registered Type is
   * accepted before login (the server logs a warning at start).
   */
  beforeLogin?: boolean;
  /**
   * Server side: the message is a step of the device's login flow. The server then decides who may
   * take it (`ServerOptions.authorizeLogin`, by default the certificate binding) before the handler
   * runs, and answers a refusal itself.
   */
  loginStep?: LoginStepSpec<T, R>;
}

/**
 * How the server reads one login-flow message: what it claims, what its reply assigns and how a
 * refusal is answered. Generated SDKs fill it in from the proto's `(paynet.role)` and
 * `(paynet.identity)` annotations.
 */
export interface LoginStepSpec<T, R> {
  readonly step: "register" | "login";
  /** The device serial the message claims (e.g. `RegisterReq.device_sn`). */
  readonly serial?: (message: T) => string;
  /** The device id the message claims (e.g. `LoginReq.device_id`). */
  readonly deviceId?: (message: T) => string;
  /**
   * Register step: the device id the handler's reply assigns (e.g. `RegisterRsp.device_id`); the
   * server remembers it for the serial, so that a later login of that certificate may use it.
   */
  readonly assignedDeviceId?: (reply: R) => string | undefined;
  /**
   * The reply refusing the step (e.g. `LoginRsp { code: UNAUTHORIZED, msg }`). Without it, the
   * refusal is sent as the protocol's error message.
   */
  readonly refuse?: (error: LoginNotAuthorizedError) => R;
}

/** One registered inbound message Type. */
export interface Registration<T = unknown, Ctx = unknown, R = unknown>
  extends RegistrationOptions<T, Ctx, R> {
  readonly def: MessageDef<T>;
}

/**
 * Type ↔ (codec, handler) table of one receiving side. A Type may be registered once; a second
 * registration is a startup error, never a silent override.
 */
export class Registry<Ctx> {
  readonly #byType: Array<Registration<unknown, Ctx, unknown> | undefined> = new Array(256);
  readonly #types: number[] = [];

  /** Registers `def`, optionally with a handler and a reply message. Throws on a duplicate Type. */
  register<T, R = never>(def: MessageDef<T>, options: RegistrationOptions<T, Ctx, R> = {}): this {
    if (!Number.isInteger(def.type) || def.type < 1 || def.type > 255) {
      throw new InvalidOptionsError(`type of ${def.name}`, `expected an integer 1..255, got ${def.type}`);
    }
    if (options.loginStep !== undefined) checkLoginStep(def.name, options.loginStep);
    if (options.idempotencyKey !== undefined && (def.name === "" || def.name.includes("/"))) {
      // The name is the namespace of the command's idempotency keys (`name/value`): a `/` in it
      // could make two commands share a key, and the second would be answered as the first.
      throw new InvalidOptionsError(
        `name of ${JSON.stringify(def.name)}`,
        "a command with an idempotencyKey needs a message name without '/' (its proto full name)",
      );
    }
    const existing = this.#byType[def.type];
    if (existing !== undefined) throw new DuplicateRegistrationError(def.type, existing.def.name, def.name);
    this.#byType[def.type] = { def, ...options } as Registration<unknown, Ctx, unknown>;
    this.#types.push(def.type);
    return this;
  }

  /** The registration of `type`, or `undefined`. O(1): called once per inbound frame. */
  get(type: number): Registration<unknown, Ctx, unknown> | undefined {
    return this.#byType[type];
  }

  has(type: number): boolean {
    return this.#byType[type] !== undefined;
  }

  /** Registered Types in registration order. */
  types(): readonly number[] {
    return this.#types;
  }
}

function checkLoginStep<T, R>(name: string, spec: LoginStepSpec<T, R>): void {
  if (spec === null || typeof spec !== "object" || (spec.step !== "register" && spec.step !== "login")) {
    throw new InvalidOptionsError(`loginStep of ${name}`, 'expected { step: "register" | "login", ... }');
  }
  for (const key of ["serial", "deviceId", "assignedDeviceId", "refuse"] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== "function") {
      throw new InvalidOptionsError(`loginStep.${key} of ${name}`, "expected a function");
    }
  }
}
