import type { MessageCodec } from "../codec.js";
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

/**
 * A static codec of a generated SDK. `encode` also accepts partial messages: absent fields are
 * simply not written, which decodes to their defaults.
 */
export interface StaticCodec<T> extends MessageCodec<T> {
  encode(message: Partial<T>): Uint8Array;
  /** The generated encoder itself: writes the message into `writer`. */
  write(message: Partial<T>, writer: Writer): Writer;
  /** The generated decoder itself: reads a message of `length` bytes at `reader.pos`. */
  read(reader: Reader, length: number): T;
  decode(bytes: Uint8Array): T;
}
