/**
 * The message layer of a generated SDK: `types.ts` (enums, message interfaces, `createX()`
 * factories) and `codecs.ts` (static protobuf encode/decode per message and the `codecs` map).
 * Pure functions of the model; the templates only lay out strings prepared here.
 */
import type { EnumModel, FieldModel, MessageModel, ProtoModel } from "../model/types.js";
import { tidy } from "./code.js";
import { CodecWriter, decoderName, encoderName } from "./codec-writer.js";
import { fileHeader } from "./header.js";
import { renderTemplate } from "./render.js";
import {
  docComment,
  fieldDefault,
  fieldTsType,
  isOptionalProperty,
  type TypeContext,
  typeContext,
  valueTsType,
} from "./ts-types.js";
import type { EmitOptions, GeneratedFile } from "./types.js";

/** Path of the message types inside `--out`. */
export const MESSAGE_TYPES_PATH = "types.ts";
/** Path of the codecs inside `--out`. */
export const CODECS_PATH = "codecs.ts";

/** `types.ts`: one `const` object + type per enum, one interface + `createX()` per message. */
export function emitMessageTypes(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const context = typeContext(model, options);
  const content = renderTemplate("types.ts", {
    header: fileHeader(model, options),
    int64Doc: options.int64 === "bigint" ? "`bigint`" : "decimal strings",
    enums: model.enums.map((enumModel) => enumView(enumModel)),
    messages: model.messages.map((message) => messageView(message, context)),
  });
  return { path: MESSAGE_TYPES_PATH, content: tidy(content) };
}

/** `codecs.ts`: `encodeX`/`decodeX` per message and the `codecs` map of `StaticCodec`s. */
export function emitCodecs(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const writer = new CodecWriter(typeContext(model, options));
  const functions = model.messages.flatMap((message) => [
    writer.encodeFunction(message),
    writer.decodeFunction(message),
  ]);
  const guards = [...writer.usedGuards].sort().map((fullName) => writer.enumGuard(fullName));
  const typeImports = [...model.messages.map((message) => message.tsName), ...writer.usedEnumTypes].sort();
  const content = renderTemplate("codecs.ts", {
    header: fileHeader(model, options),
    typeImports: typeImports.join(", "),
    hasTypeImports: typeImports.length > 0,
    functions: [...guards, ...functions],
    codecs: model.messages.map((message) => ({
      name: message.tsName,
      encoder: encoderName(message),
      decoder: decoderName(message),
    })),
  });
  return { path: CODECS_PATH, content: tidy(content) };
}

interface EnumView {
  readonly doc: string;
  readonly name: string;
  readonly values: readonly { readonly doc: string; readonly name: string; readonly number: number }[];
}

function enumView(enumModel: EnumModel): EnumView {
  return {
    doc: docComment(enumModel.comment, "", [`Proto enum \`${enumModel.fullName}\`.`]),
    name: enumModel.tsName,
    values: enumModel.values.map((value) => ({
      doc: docComment(value.comment, "  "),
      name: value.protoName,
      number: value.number,
    })),
  };
}

interface MessageView {
  readonly doc: string;
  readonly name: string;
  readonly fullName: string;
  readonly properties: readonly {
    readonly doc: string;
    readonly name: string;
    readonly optional: string;
    readonly type: string;
  }[];
  /** `orderId: "", coins: 0, ` — the defaults in front of `...init`. */
  readonly defaults: string;
}

function messageView(message: MessageModel, context: TypeContext): MessageView {
  const fields = [...message.fields].sort((a, b) => a.number - b.number);
  const properties: MessageView["properties"][number][] = [];
  const emittedOneofs = new Set<string>();
  for (const field of fields) {
    if (field.oneof === undefined) {
      properties.push({
        doc: docComment(field.comment, "  ", fieldTags(field)),
        name: field.tsName,
        optional: isOptionalProperty(field) ? "?" : "",
        type: fieldTsType(field, context),
      });
      continue;
    }
    // The oneof becomes one property, placed where its first member is.
    if (emittedOneofs.has(field.oneof)) continue;
    emittedOneofs.add(field.oneof);
    const oneof = message.oneofs.find((candidate) => candidate.protoName === field.oneof);
    if (oneof === undefined) throw new Error(`internal: oneof ${field.oneof} missing in ${message.fullName}`);
    const members = oneof.fieldNumbers.map((number) => {
      const member = fields.find((candidate) => candidate.number === number);
      if (member === undefined) throw new Error(`internal: field ${number} missing in ${message.fullName}`);
      return member;
    });
    properties.push({
      doc: docComment(oneof.comment, "  ", [
        `Oneof \`${oneof.protoName}\`: at most one of ${members.map((member) => `\`${member.protoName}\``).join(", ")}.`,
        ...members.flatMap((member) =>
          member.comment === undefined
            ? []
            : [`- \`${member.tsName}\`: ${member.comment.replace(/\s*\n\s*/g, " ")}`],
        ),
      ]),
      name: oneof.tsName,
      optional: "?",
      type: members
        .map(
          (member) =>
            `{ case: ${JSON.stringify(member.tsName)}; value: ${valueTsType(member.value, context)} }`,
        )
        .join(" | "),
    });
  }
  const defaults = fields
    .filter((field) => field.oneof === undefined && !isOptionalProperty(field))
    .map((field) => `${field.tsName}: ${fieldDefault(field, context, "create")}, `)
    .join("");
  return {
    doc: docComment(message.comment, "", [`Proto message \`${message.fullName}\`.`]),
    name: message.tsName,
    fullName: message.fullName,
    properties,
    defaults,
  };
}

/** Facts about a field worth a line in its JSDoc beyond the proto comment. */
function fieldTags(field: FieldModel): string[] {
  const tags: string[] = [];
  if (field.required) tags.push("proto2 `required`: decoding fails when it is absent.");
  if (field.defaultValue !== undefined && !field.required) {
    tags.push(`@defaultValue \`${String(field.defaultValue)}\` (proto2 default when absent)`);
  }
  return tags;
}
