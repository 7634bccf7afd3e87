/**
 * Who may act as which device. Every step of the login flow (a registration with `loginStep`) and
 * every `session.login(deviceId)` is decided before it takes effect: by `ServerOptions.authorizeLogin`
 * when given, else by the certificate binding, under which a client certificate acts only for the
 * device it names (its subject CN is the device serial). A refusal is answered with the protocol's
 * refusal reply (or its error message), logged once and reported; the connection is then closed,
 * so a refused peer never goes online and never replaces a session of the device it claimed.
 */
import { LoginNotAuthorizedError, type PaynetError } from "../errors.js";
import type { LoginStepSpec, Registration, Registry } from "../registry.js";
import type { ServerSession } from "./session.js";
import type { LoginRefusalStats, PeerIdentity, ServerContext, Session } from "./types.js";

/** `true` lets the step through; `false` or a reason refuses it. */
export type LoginDecision = boolean | string;

/** One register or login step, as `authorizeLogin` sees it. */
export interface LoginAttempt {
  readonly step: "register" | "login";
  /** The verified client certificate (mTLS): CN, SANs, fingerprint; `undefined` without one. */
  readonly identity: PeerIdentity | undefined;
  /** The device id claimed: by the login message, or given to `session.login()`. */
  readonly deviceId: string | undefined;
  /** The device serial the message claims (the register step's serial field). */
  readonly serial: string | undefined;
  /** The decoded register/login message; `undefined` for a `session.login()` outside a login step. */
  readonly message: unknown;
  /** `host:port` of the peer. */
  readonly peer: string;
  readonly session: Session;
  /**
   * The default policy's decision for this attempt (see {@link certificateBinding}), for a hook
   * that adds its own rules to the binding rather than replacing it.
   */
  certificateBinding(): LoginDecision | Promise<LoginDecision>;
}

/** Decides a login attempt (sync or async); see `ServerOptions.authorizeLogin`. */
export type AuthorizeLogin = (attempt: LoginAttempt) => LoginDecision | Promise<LoginDecision>;

/**
 * Device serial → the device id registered for it, as the certificate binding consults it at login.
 * The default keeps, in memory, the ids this server's register replies assigned to serials whose
 * certificate it checked; a service with its own device records (a database, paynetd's state file)
 * gives its own, so that devices that do not register again after a restart can still log in.
 */
export interface RegisteredDevices {
  deviceIdOf(serial: string): string | undefined | Promise<string | undefined>;
  /** Called when a register reply assigned `deviceId` to a certificate-checked `serial`. */
  remember?(serial: string, deviceId: string): void | Promise<void>;
}

/** In-process {@link RegisteredDevices}: one entry per certificate that registered. */
export class MemoryRegisteredDevices implements RegisteredDevices {
  readonly #bySerial = new Map<string, string>();

  deviceIdOf(serial: string): string | undefined {
    return this.#bySerial.get(serial);
  }

  remember(serial: string, deviceId: string): void {
    this.#bySerial.set(serial, deviceId);
  }
}

/**
 * What the protocol's register step tells the certificate binding: `none` (no register step: a
 * device logs in as its serial), `with-serial` (it names the serial, so the id it assigns is bound
 * to the certificate) or `without-serial` (it names none, so no id it assigns can be trusted).
 */
export type RegisterStepKind = "none" | "with-serial" | "without-serial";

/**
 * The default policy. Without a client certificate everything is allowed (nothing to bind to).
 * With one, its subject CN is the device serial:
 * - a register step may only claim that serial;
 * - a login may only claim the device id registered for it (`devices`), or, when the protocol has
 *   no register step, the serial itself.
 */
export function certificateBinding(
  attempt: Pick<LoginAttempt, "step" | "identity" | "deviceId" | "serial">,
  devices: RegisteredDevices,
  registerStep: RegisterStepKind,
): LoginDecision | Promise<LoginDecision> {
  const identity = attempt.identity;
  if (identity === undefined) return true;
  const cn = identity.commonName;
  if (cn === undefined || cn === "") return "the client certificate has no subject CN naming a device";
  if (attempt.serial !== undefined && attempt.serial !== cn) {
    return `the certificate names device ${JSON.stringify(cn)}, not ${JSON.stringify(attempt.serial)}`;
  }
  const claimed = attempt.deviceId;
  if (attempt.step === "register" || claimed === undefined) return true;
  return andThen(devices.deviceIdOf(cn), (registered) => {
    if (registered === claimed) return true;
    if (registered !== undefined) {
      return `the certificate names device ${JSON.stringify(cn)}, registered as ${JSON.stringify(registered)}, not ${JSON.stringify(claimed)}`;
    }
    if (registerStep === "none") {
      return claimed === cn
        ? true
        : `the certificate names device ${JSON.stringify(cn)}, not ${JSON.stringify(claimed)}`;
    }
    const unknown = `no device id is registered for the certificate's device ${JSON.stringify(cn)}`;
    return registerStep === "with-serial"
      ? `${unknown}; register first`
      : `${unknown}: the register message names no serial field ((paynet.identity) = SERIAL), so the ids it assigns are not bound to certificates`;
  });
}

/** `CN=… sha256=…` of a peer certificate, as refusals name it. */
export function describeCertificate(identity: PeerIdentity | undefined): string | undefined {
  if (identity === undefined) return undefined;
  return `CN=${identity.commonName ?? "(none)"} sha256=${identity.fingerprint256}`;
}

/** What the authority needs from its server. */
export interface LoginAuthorityHost {
  readonly registry: Registry<ServerContext>;
  readonly authorizeLogin: AuthorizeLogin | undefined;
  readonly devices: RegisteredDevices;
  /** `error` event. */
  report(error: PaynetError, session: ServerSession): void;
  /** Sends the protocol's error message to the peer (best effort). */
  tellPeer(session: ServerSession, error: PaynetError): void;
}

type AnyRegistration = Registration<unknown, ServerContext, unknown>;
type AnyLoginStep = LoginStepSpec<unknown, unknown>;

/** Decides the login steps of one server's sessions. */
export class LoginAuthority {
  readonly #host: LoginAuthorityHost;
  #registerStep: RegisterStepKind | undefined;
  readonly #refusals: LoginRefusalStats = { register: 0, login: 0 };

  constructor(host: LoginAuthorityHost) {
    this.#host = host;
  }

  /** Register and login steps refused so far (`stats().loginRefusals`). */
  stats(): LoginRefusalStats {
    return { ...this.#refusals };
  }

  /**
   * A message of a login step arrived: `proceed()` (its handler) runs once the step is allowed;
   * a refusal is answered here. Never throws.
   */
  step(session: ServerSession, registration: AnyRegistration, message: unknown, proceed: () => void): void {
    const spec = registration.loginStep as AnyLoginStep;
    let serial: string | undefined;
    let deviceId: string | undefined;
    try {
      serial = spec.serial?.(message);
      deviceId = spec.deviceId?.(message);
    } catch (error) {
      this.#refuse(session, spec.step, undefined, `cannot read the claim: ${String(error)}`, registration);
      return;
    }
    const attempt = this.#attempt(session, spec.step, deviceId, serial, message);
    this.#decide(attempt, (reason) => {
      if (session.closedReason !== undefined) return;
      if (reason !== undefined) {
        this.#refuse(session, spec.step, deviceId ?? serial, reason, registration);
        return;
      }
      if (spec.step === "register") session.checkedSerial = serial;
      if (deviceId !== undefined) session.approvedDeviceId = deviceId;
      proceed();
    });
  }

  /**
   * `session.login(deviceId)` for an id no login step of the session approved: true when it may go
   * ahead, else the refusal, already handled here (error message, close). An asynchronous policy
   * gives a promise of whether it may go ahead.
   */
  login(session: ServerSession, deviceId: string): true | LoginNotAuthorizedError | Promise<boolean> {
    const attempt = this.#attempt(session, "login", deviceId, undefined, undefined);
    let verdict: true | LoginNotAuthorizedError | undefined;
    let settle: ((allowed: boolean) => void) | undefined;
    this.#decide(attempt, (reason) => {
      verdict = reason === undefined ? true : this.#refuse(session, "login", deviceId, reason, undefined);
      settle?.(verdict === true && session.closedReason === undefined);
    });
    if (verdict !== undefined) return verdict;
    return new Promise((resolve) => {
      settle = resolve;
    });
  }

  /** The handler of a register step replied: remember the device id it assigned to the checked serial. */
  replied(session: ServerSession, registration: AnyRegistration, reply: unknown): void {
    const serial = session.checkedSerial;
    const spec = registration.loginStep as AnyLoginStep | undefined;
    if (serial === undefined || session.identity === undefined || spec?.step !== "register") return;
    let deviceId: string | undefined;
    try {
      deviceId = spec.assignedDeviceId?.(reply);
    } catch (error) {
      session.log.warn({ error: String(error) }, "cannot read the device id of the register reply");
      return;
    }
    if (typeof deviceId !== "string" || deviceId === "") return;
    try {
      const done = this.#host.devices.remember?.(serial, deviceId);
      if (done instanceof Promise) done.catch((error: unknown) => this.#rememberFailed(session, error));
    } catch (error) {
      this.#rememberFailed(session, error);
    }
  }

  #rememberFailed(session: ServerSession, error: unknown): void {
    session.log.error({ error: String(error) }, "registeredDevices.remember failed");
  }

  #attempt(
    session: ServerSession,
    step: "register" | "login",
    deviceId: string | undefined,
    serial: string | undefined,
    message: unknown,
  ): LoginAttempt {
    const attempt: LoginAttempt = {
      step,
      identity: session.identity,
      deviceId,
      serial,
      message,
      peer: `${session.remoteAddress}:${session.remotePort}`,
      session,
      certificateBinding: () => certificateBinding(attempt, this.#host.devices, this.#registerStepKind()),
    };
    return attempt;
  }

  /** Runs the policy; `done(undefined)` when allowed, `done(reason)` when refused. */
  #decide(attempt: LoginAttempt, done: (refusal: string | undefined) => void): void {
    const policy = this.#host.authorizeLogin;
    const settle = (decision: unknown) => {
      if (decision === true) done(undefined);
      else if (typeof decision === "string" && decision !== "") done(decision);
      else if (decision === false) done("refused by authorizeLogin");
      else done(`authorizeLogin returned ${describeDecision(decision)} (expected true, false or a reason)`);
    };
    const failed = (error: unknown) =>
      done(`authorizeLogin failed: ${error instanceof Error ? error.message : String(error)}`);
    let decision: LoginDecision | Promise<LoginDecision>;
    try {
      decision = policy === undefined ? attempt.certificateBinding() : policy(attempt);
    } catch (error) {
      failed(error);
      return;
    }
    if (decision instanceof Promise) decision.then(settle, failed);
    else settle(decision);
  }

  #refuse(
    session: ServerSession,
    step: "register" | "login",
    claimed: string | undefined,
    reason: string,
    registration: AnyRegistration | undefined,
  ): LoginNotAuthorizedError {
    this.#refusals[step]++;
    const identity = session.identity;
    const error = new LoginNotAuthorizedError(step, claimed, reason, describeCertificate(identity), {
      peer: `${session.remoteAddress}:${session.remotePort}`,
      ...(registration === undefined
        ? {}
        : { frameType: registration.def.type, messageName: registration.def.name }),
    });
    session.log.warn(
      {
        step,
        claimed,
        certificateCn: identity?.commonName,
        certificateSha256: identity?.fingerprint256,
      },
      error.message,
    );
    this.#host.report(error, session);
    this.#answerRefusal(session, registration, error);
    session.closeWith(error);
    return error;
  }

  /** The step's refusal reply when it has one, else the error message. */
  #answerRefusal(
    session: ServerSession,
    registration: AnyRegistration | undefined,
    error: LoginNotAuthorizedError,
  ): void {
    const refuse = (registration?.loginStep as AnyLoginStep | undefined)?.refuse;
    const replyDef = registration?.reply;
    if (refuse === undefined || replyDef === undefined) {
      this.#host.tellPeer(session, error);
      return;
    }
    try {
      session.sendNow(replyDef, refuse(error));
    } catch (sendError) {
      session.log.warn({ error: String(sendError) }, "refusal reply not sent");
      this.#host.tellPeer(session, error);
    }
  }

  /** What the protocol's register step is like (then a login needs a registered id). */
  #registerStepKind(): RegisterStepKind {
    if (this.#registerStep === undefined) {
      const registry = this.#host.registry;
      const steps = registry.types().map((type) => registry.get(type)?.loginStep);
      const register = steps.find((step) => step?.step === "register");
      this.#registerStep =
        register === undefined ? "none" : register.serial === undefined ? "without-serial" : "with-serial";
    }
    return this.#registerStep;
  }
}

/** Applies `f` to a value that may be a promise, staying synchronous when it is not. */
function andThen<T, U>(value: T | Promise<T>, f: (value: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}

function describeDecision(decision: unknown): string {
  if (typeof decision === "object" && decision !== null) return "an object";
  return JSON.stringify(decision) ?? String(decision);
}
