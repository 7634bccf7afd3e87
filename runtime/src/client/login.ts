import type { RequestSpec } from "../codec.js";
import { HandlerError, InvalidOptionsError, LoginRefusedError, PaynetError } from "../errors.js";
import { positiveNumber } from "../option-checks.js";
import type { LoginFlow, LoginStep } from "./types.js";

/** Default time to wait for each of the register and login replies. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 10_000;

/** Which step of the login flow. */
export type LoginStepName = "register" | "login";

/**
 * Sends one request of the login flow on the fresh connection (bypassing the offline state) and
 * resolves with its reply; rejects with `LoginTimeoutError` after `timeoutMs`.
 */
export type LoginRequester = (
  spec: RequestSpec<unknown, unknown>,
  message: unknown,
  timeoutMs: number,
  step: LoginStepName,
) => Promise<unknown>;

/** Validates a login flow; returns the per-step timeout. */
export function validateLoginFlow(flow: LoginFlow): number {
  checkStep("login.login", flow.login);
  if (flow.register !== undefined) checkStep("login.register", flow.register);
  const timeoutMs = positiveNumber("login.timeoutMs", flow.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS);
  if (flow.onRefused !== undefined && typeof flow.onRefused !== "function") {
    throw new InvalidOptionsError("login.onRefused", "expected a function returning 'retry' or 'stop'");
  }
  return timeoutMs;
}

function checkStep(name: string, step: LoginStep<unknown, unknown> | undefined): void {
  if (step === undefined || typeof step !== "object") {
    throw new InvalidOptionsError(name, "expected { spec, build, accept? }");
  }
  if (step.spec?.request === undefined || step.spec.reply === undefined) {
    throw new InvalidOptionsError(`${name}.spec`, "expected a RequestSpec with request and reply messages");
  }
  if (typeof step.build !== "function") {
    throw new InvalidOptionsError(`${name}.build`, "expected a function building the request message");
  }
  if (step.accept !== undefined && typeof step.accept !== "function") {
    throw new InvalidOptionsError(`${name}.accept`, "expected a function judging the reply");
  }
}

/**
 * Runs register (when configured) then login, each step within `timeoutMs` (the flow's timeout
 * as {@link validateLoginFlow} resolved it). Resolves when the login reply is accepted; rejects
 * with `LoginRefusedError` (server refused), `LoginTimeoutError`, the connection's close reason, or
 * `HandlerError` when a user `build`/`accept` callback throws.
 */
export async function runLoginFlow(
  flow: LoginFlow,
  timeoutMs: number,
  request: LoginRequester,
  peer?: string,
): Promise<void> {
  if (flow.register !== undefined) await runStep("register", flow.register, request, timeoutMs, peer);
  await runStep("login", flow.login, request, timeoutMs, peer);
}

async function runStep(
  step: LoginStepName,
  definition: LoginStep<unknown, unknown>,
  request: LoginRequester,
  timeoutMs: number,
  peer: string | undefined,
): Promise<void> {
  const context = peer === undefined ? {} : { peer };
  const message = await userCallback(() => definition.build(), context);
  const reply = await request(definition.spec, message, timeoutMs, step);
  const verdict = await userCallback(() => definition.accept?.(reply) ?? true, context);
  if (verdict !== true) {
    throw new LoginRefusedError(verdict.code, step, verdict.message, {
      ...context,
      messageName: definition.spec.reply.name,
    });
  }
}

async function userCallback<T>(callback: () => T | Promise<T>, context: { peer?: string }): Promise<T> {
  try {
    return await callback();
  } catch (error) {
    if (error instanceof PaynetError) throw error;
    throw new HandlerError({ ...context, cause: error });
  }
}

/**
 * Types one login step against its spec and erases the types for {@link LoginFlow}, whose steps are
 * `LoginStep<unknown, unknown>` (a typed spec is not directly assignable there because its key
 * functions take the concrete request type).
 *
 * ```ts
 * login: { login: loginStep({ spec: loginSpec, build: () => ({ deviceId }), accept: (rsp) => rsp.code === 0 || { code: rsp.code } }) }
 * ```
 */
export function loginStep<Req, Rep>(step: LoginStep<Req, Rep>): LoginStep<unknown, unknown> {
  return step as unknown as LoginStep<unknown, unknown>;
}
