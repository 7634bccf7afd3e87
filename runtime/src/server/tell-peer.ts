/** Telling a peer about a runtime error with the protocol's error message (role ERROR). */
import type { PaynetError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ServerSession } from "./session.js";
import type { ErrorMessageSpec } from "./types.js";

/**
 * Queues the error message built from `error` to `session`, when the server has one. Best effort:
 * a failing `build` is logged on `logger`, a failed send on the session's log; neither throws.
 */
export function tellPeer(
  spec: ErrorMessageSpec<unknown> | undefined,
  session: ServerSession,
  error: PaynetError,
  logger: Logger,
): void {
  if (spec === undefined) return;
  let message: unknown;
  try {
    message = spec.build(error);
  } catch (buildError) {
    logger.error({ error: String(buildError) }, "errorMessage.build failed");
    return;
  }
  try {
    session.sendNow(spec.def, message);
  } catch (sendError) {
    const reason = sendError instanceof Error ? sendError.message : String(sendError);
    session.log.warn({ name: spec.def.name }, `reply not sent: ${reason}`);
  }
}
