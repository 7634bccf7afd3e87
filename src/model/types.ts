/**
 * The validated model of a set of .proto files plus their paynet annotations. Parsed once by
 * `loadModel()`; every emitter is a pure function of it. Everything in it is sorted
 * deterministically so that output does not depend on file system or hash ordering.
 */

/** A place in a source file; line and column are 1-based. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type Direction = "up" | "down" | "both";
export type Role = "register" | "login" | "heartbeat" | "error";

export type ScalarType =
  | "double"
  | "float"
  | "int32"
  | "uint32"
  | "sint32"
  | "fixed32"
  | "sfixed32"
  | "int64"
  | "uint64"
  | "sint64"
  | "fixed64"
  | "sfixed64"
  | "bool"
  | "string"
  | "bytes";

/** Type of a field value (or a map value). */
export type ValueType =
  | { readonly kind: "scalar"; readonly scalar: ScalarType }
  | { readonly kind: "enum"; readonly fullName: string }
  | { readonly kind: "message"; readonly fullName: string };

export interface FieldModel {
  /** Name as in the .proto (`order_id`). */
  readonly protoName: string;
  /** TypeScript property name (`orderId`). */
  readonly tsName: string;
  readonly number: number;
  readonly value: ValueType;
  /** `repeated` (not maps). */
  readonly repeated: boolean;
  /** Packed encoding for repeated scalars (proto3 default true, proto2 default false, `[packed]`). */
  readonly packed: boolean;
  /**
   * Explicit presence: proto3 `optional`, proto2 `optional`, message-typed fields, and members of a
   * real oneof. False for repeated, map and proto2 `required` fields.
   */
  readonly hasPresence: boolean;
  /** proto2 `required`. */
  readonly required: boolean;
  /** Map fields: key scalar type; `value` is then the map's value type. */
  readonly mapKey?: ScalarType;
  /** Name of the real (non-synthetic) oneof this field belongs to. */
  readonly oneof?: string;
  /** Marked `[(paynet.correlation) = true]` or by the sidecar. */
  readonly correlation: boolean;
  /**
   * `(paynet.max_size)`: largest string (UTF-8 bytes) or bytes value; on a repeated field each
   * element's, on a map its string/bytes keys' and values'. Undefined: unbounded.
   */
  readonly maxSize?: number;
  /** `(paynet.max_count)`: most elements of a repeated field, entries of a map. Undefined: unbounded. */
  readonly maxCount?: number;
  /**
   * proto2 `[default = ...]` as a literal value: number, boolean, string (string/bytes fields), the
   * enum value's name (enum fields), or a decimal string for 64-bit integer fields (exact).
   */
  readonly defaultValue?: string | number | boolean;
  readonly comment?: string;
  readonly position: SourcePosition;
}

export interface OneofModel {
  readonly protoName: string;
  readonly tsName: string;
  /** Field numbers, in declaration order. */
  readonly fieldNumbers: readonly number[];
  readonly comment?: string;
}

/** Paynet annotation of a message that travels on the wire. */
export interface WireInfo {
  /** Wire Type byte, 1..255. */
  readonly type: number;
  readonly direction: Direction;
  /** Full name of the message answering this one. */
  readonly reply?: string;
  readonly role?: Role;
  /** protoName of the correlation field of this message, if any. */
  readonly correlationField?: string;
  /** protoName of the field naming the device serial (`(paynet.identity) = SERIAL`). */
  readonly serialField?: string;
  /** protoName of the field naming the device id (`(paynet.identity) = DEVICE_ID`). */
  readonly deviceIdField?: string;
  /** Where the annotation came from (for messages). */
  readonly source: "proto" | "map" | "both";
  /**
   * Requests delivered at least once (cloud → device, correlated): how their reply tells a final
   * reply from progress.
   */
  readonly replyFinal?: ReplyFinality;
}

/** How a reply says it is final: one enum field of it holds a `(paynet.final)` value. */
export interface ReplyFinality {
  /** protoName of the reply's field holding the state. */
  readonly field: string;
  /** Full name of that field's enum. */
  readonly enumName: string;
  /** protoNames of the final values, in declaration order. */
  readonly finalValues: readonly string[];
  /**
   * The final value that means failure (its name says FAIL, ERROR, ABORT, REJECT, CANCEL or DENIED):
   * what the device answers with a command it cannot complete (interrupted by a crash, or its
   * handler threw). Undefined when no final value says so.
   */
  readonly failureValue?: string;
}

export interface MessageModel {
  /** `paybox.CoinCommand`, `pkg.Outer.Inner`. */
  readonly fullName: string;
  /** Package (`paybox`), empty string when none. */
  readonly packageName: string;
  /** Name in TypeScript, unique in the SDK: `CoinCommand`, nested `Outer_Inner`. */
  readonly tsName: string;
  readonly syntax: "proto2" | "proto3";
  readonly fields: readonly FieldModel[];
  readonly oneofs: readonly OneofModel[];
  readonly comment?: string;
  readonly position: SourcePosition;
  readonly wire?: WireInfo;
}

export interface EnumValueModel {
  readonly protoName: string;
  readonly number: number;
  /** Marked `[(paynet.final) = true]` (or listed as final in the sidecar): a reply with it ends its request. */
  readonly final: boolean;
  readonly comment?: string;
}

export interface EnumModel {
  readonly fullName: string;
  readonly packageName: string;
  readonly tsName: string;
  /**
   * Syntax of the declaring file: proto2 enums are closed (unknown numbers are dropped on decode),
   * proto3 enums are open.
   */
  readonly syntax: "proto2" | "proto3";
  readonly values: readonly EnumValueModel[];
  readonly comment?: string;
  readonly position: SourcePosition;
}

/** A message that travels on the wire, with its annotation (what most emitters iterate). */
export interface WireMessage {
  readonly message: MessageModel;
  readonly wire: WireInfo;
}

export interface ProtoModel {
  /** Input files as given (relative to cwd where possible, `/`-separated). */
  readonly inputs: readonly string[];
  /**
   * Base names of the inputs, in the order of `inputs`: what generated headers name, so that the
   * output does not depend on the working directory.
   */
  readonly inputNames: readonly string[];
  /** Every message reachable from the inputs (incl. imports, nested, WKT used), sorted by fullName. */
  readonly messages: readonly MessageModel[];
  readonly enums: readonly EnumModel[];
  /** Annotated messages, sorted by (type, direction). */
  readonly wire: readonly WireMessage[];
  readonly roles: Readonly<Partial<Record<Role, WireMessage>>>;
  /**
   * SHA-256 (hex) over the user's proto files (the inputs and the files they import, not the bundled
   * paynet/google definitions) sorted by name, each as `name NUL content NUL` (name: base name of an
   * input, import string of an imported file), then the sidecar's content.
   */
  readonly sourceHash: string;
  /** Name used for facades: `--name`, else the first input's package in PascalCase (`Paybox`). */
  readonly serviceName: string;
  readonly warnings: readonly Diagnostic[];
}

export interface Diagnostic {
  readonly severity: "error" | "warning";
  /** Stable rule id, e.g. `type-out-of-range`, `duplicate-type`, `syntax`. */
  readonly rule: string;
  readonly message: string;
  readonly position?: SourcePosition;
}
