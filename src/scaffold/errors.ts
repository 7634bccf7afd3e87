/**
 * Errors of the scaffolding commands (`init`, `scaffold handler`, `types add|list`). Each has a
 * stable `code` so scripts and tests can tell them apart without parsing the message.
 */

export type ScaffoldErrorCode =
  | "UNKNOWN_MESSAGE"
  | "NO_TYPE_ID"
  | "WRONG_SIDE"
  | "SIDE_REQUIRED"
  | "INDEX_NOT_FOUND"
  | "INDEX_UNRECOGNISED"
  | "INDEX_SPREAD"
  | "HANDLER_NOT_REGISTERED"
  | "DIRECTION_REQUIRED"
  | "PROJECT_CONFIG"
  | "ALREADY_ANNOTATED"
  | "INVALID_ANNOTATION"
  | "MESSAGE_NOT_IN_SOURCE"
  | "VALIDATION_FAILED"
  | "SDK_NOT_FOUND"
  | "TARGET_NOT_EMPTY"
  | "VENDOR_PACK";

/** A user-facing failure of a scaffolding command; `message` says what to do about it. */
export class ScaffoldError extends Error {
  readonly code: ScaffoldErrorCode;

  constructor(code: ScaffoldErrorCode, message: string) {
    super(message);
    this.name = "ScaffoldError";
    this.code = code;
  }
}
