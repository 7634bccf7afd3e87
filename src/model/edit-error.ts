/** Why a text edit of a .proto file (`types add`) could not be made; `code` is stable. */
export class SourceEditError extends Error {
  readonly code:
    | "MESSAGE_NOT_IN_SOURCE"
    | "FIELD_NOT_FOUND"
    | "ALREADY_ANNOTATED"
    | "INVALID_SOURCE"
    | "INCOMPLETE_ANNOTATION";

  constructor(code: SourceEditError["code"], message: string) {
    super(message);
    this.name = "SourceEditError";
    this.code = code;
  }
}
