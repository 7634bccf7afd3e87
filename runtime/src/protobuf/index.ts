/**
 * @packageDocumentation
 * `@paynet/runtime/protobuf`: what generated codecs are built on (they import it as `$pb`).
 * `Writer` is paynet's own direct-to-buffer writer with protobufjs's method names and bytes
 * (`writer.ts`); `Reader` is protobufjs's, used as it is (`reader.ts`): importing the runtime leaves
 * the application's protobufjs configuration alone. `encodeMessage` / `decodeMessage` run a
 * generated encoder / decoder on a reused writer / reader, `readMessage` decodes a range of a buffer
 * in place, and `readString` reads strings with a bounds check protobufjs's `Buffer` reader lacks.
 * 64-bit integers are `bigint`s, read by the `read*64` functions and written through `int64Value`
 * (`int64.ts`). Bounded strings are written with `Writer.boundedString`; bytes, counts and string map keys are
 * checked through `boundExceeded` / `checkStringSize`
 * (`bounds.ts`).
 */
export { boundExceeded, checkStringSize, truncateUtf8 } from "./bounds.js";
export { int64Value, readFixed64, readInt64, readSfixed64, readSint64, readUint64 } from "./int64.js";
export {
  decodeMessage,
  EMPTY_BYTES,
  lengthOverrun,
  missingRequired,
  newMap,
  Reader,
  readMessage,
  readString,
} from "./reader.js";
export type { StaticCodec } from "./static-codec.js";
export { encodeMessage, type Int64Input, type LongBits, Writer } from "./writer.js";
