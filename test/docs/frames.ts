/**
 * Hex dumps in the docs, checked against the real encoding: the `<!-- frame: Name {json} -->`
 * comment above a `hex` block names the message and its fields (proto field names); the dump must
 * equal `encodeFrame(Type, codec.encode(message))` of the generated example SDK and the runtime.
 */
import { encodeFrame } from "@paynet/runtime";
import * as sdk from "../../examples/sdk/index.js";
import type { CodeBlock } from "./markdown.js";

/** What a frame annotation says. */
export interface FrameSpec {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

const FRAME_ANNOTATION = /^frame:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\{[\s\S]*\})?\s*$/;

/** Parses the block's `frame:` annotation; throws naming the block when it is missing or malformed. */
export function frameSpecOf(block: CodeBlock): FrameSpec {
  const match = block.annotation === undefined ? null : FRAME_ANNOTATION.exec(block.annotation);
  if (match === null) {
    throw new Error("a hex block needs `<!-- frame: MessageName {json fields} -->` right above it");
  }
  const fields = match[2] === undefined ? {} : (JSON.parse(match[2]) as Record<string, unknown>);
  return { message: match[1]!, fields };
}

/** The bytes of a hex dump (`00 00 00 1d 01 ...`, any whitespace). */
export function parseHex(body: string): Buffer {
  const compact = body.replace(/\s+/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(compact)) throw new Error("not a whitespace-separated hex dump");
  return Buffer.from(compact, "hex");
}

/** Spaced lower-case hex, the way the docs print frames. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
}

type Codec = { encode(message: unknown): Uint8Array };

/** The frame the SDK and runtime produce for `spec`. */
export function encodeSpec(spec: FrameSpec): Buffer {
  const type = (sdk.MessageType as Record<string, number>)[spec.message];
  const codec = (sdk.codecs as Record<string, Codec>)[spec.message];
  const create = (sdk as unknown as Record<string, unknown>)[`create${spec.message}`];
  if (type === undefined || codec === undefined || typeof create !== "function") {
    throw new Error(`unknown message ${spec.message} (not in examples/sdk)`);
  }
  const defaults = (create as () => Record<string, unknown>)();
  const message: Record<string, unknown> = {};
  for (const [protoName, value] of Object.entries(spec.fields)) {
    const name = protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (!(name in defaults)) throw new Error(`${spec.message} has no field ${protoName}`);
    // 64-bit fields are bigint in the SDK; JSON has only numbers and strings.
    message[name] = typeof defaults[name] === "bigint" ? BigInt(value as number | string) : value;
  }
  return encodeFrame(type, codec.encode(message));
}
