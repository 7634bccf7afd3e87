/**
 * What the codec emitters share: the context of one source file (closed enums and the guards the
 * decoders use), fields in number order, and a field's member in the C struct.
 */
import type { FieldModel, MessageModel, ProtoModel, ValueType } from "../../model/types.js";
import { memberName } from "./names.js";
import { isLengthDelimited } from "./values.js";

export interface CodecContext {
  readonly model: ProtoModel;
  readonly closedEnums: ReadonlySet<string>;
  /** Closed enums whose guard the source uses. */
  readonly usedGuards: Set<string>;
}

export function byNumber(message: MessageModel): FieldModel[] {
  return [...message.fields].sort((a, b) => a.number - b.number);
}

/** `m->name`, or `m->oneof.name` for a oneof member. */
export function access(field: FieldModel): string {
  return field.oneof === undefined
    ? `m->${memberName(field.protoName)}`
    : `m->${memberName(field.oneof)}.${memberName(field.protoName)}`;
}

export function isPackable(value: ValueType): boolean {
  return !isLengthDelimited(value);
}
