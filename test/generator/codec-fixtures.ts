/**
 * .proto texts exercising every shape the message layer must handle: all scalars, proto3
 * `optional`, packed and unpacked repeated, maps of every key kind, nesting and recursion, oneofs
 * (also split by another field), open and closed enums, proto2 `required` and `[default]`s; and
 * size bounds (`(paynet.max_size)`, `(paynet.max_count)`) on every kind of field that takes one.
 */

export const PROTO3_FIXTURE = `syntax = "proto3";
package fx;

// Device state.
// Second line of the enum comment.
enum State {
  STATE_UNKNOWN = 0; // not yet known
  STATE_READY = 1;
  STATE_BUSY = 5;
}

// Every scalar type, implicit presence.
message Scalars {
  double f_double = 1; // a double
  float f_float = 2;
  int32 f_int32 = 3;
  uint32 f_uint32 = 4;
  sint32 f_sint32 = 5;
  fixed32 f_fixed32 = 6;
  sfixed32 f_sfixed32 = 7;
  int64 f_int64 = 8;
  uint64 f_uint64 = 9;
  sint64 f_sint64 = 10;
  fixed64 f_fixed64 = 11;
  sfixed64 f_sfixed64 = 12;
  bool f_bool = 13;
  string f_string = 14;
  bytes f_bytes = 15;
  State f_state = 16;
}

// proto3 optional: explicit presence.
message Optionals {
  optional int32 o_int32 = 1;
  optional string o_string = 2;
  optional int64 o_int64 = 3;
  optional State o_state = 4;
  optional bytes o_bytes = 5;
  optional bool o_bool = 6;
  optional double o_double = 7;
}

message Repeated {
  repeated double r_double = 1;
  repeated float r_float = 2;
  repeated int32 r_int32 = 3;
  repeated uint32 r_uint32 = 4;
  repeated sint32 r_sint32 = 5;
  repeated fixed32 r_fixed32 = 6;
  repeated sfixed32 r_sfixed32 = 7;
  repeated int64 r_int64 = 8;
  repeated uint64 r_uint64 = 9;
  repeated sint64 r_sint64 = 10;
  repeated fixed64 r_fixed64 = 11;
  repeated sfixed64 r_sfixed64 = 12;
  repeated bool r_bool = 13;
  repeated string r_string = 14;
  repeated bytes r_bytes = 15;
  repeated State r_state = 16;
  repeated Scalars r_msg = 17;
}

// Same numbers as Repeated's numeric fields, unpacked on the wire.
message Unpacked {
  repeated double r_double = 1 [packed = false];
  repeated int32 r_int32 = 3 [packed = false];
  repeated sint64 r_sint64 = 10 [packed = false];
  repeated fixed64 r_fixed64 = 11 [packed = false];
  repeated bool r_bool = 13 [packed = false];
  repeated State r_state = 16 [packed = false];
}

message Maps {
  map<string, string> m_string = 1;
  map<int32, int64> m_int32 = 2;
  map<int64, Scalars> m_int64 = 3;
  map<uint32, State> m_uint32 = 4;
  map<string, bytes> m_bytes = 5;
  map<sint64, double> m_sint64 = 6;
  map<fixed32, float> m_fixed32 = 7;
  map<uint64, string> m_uint64 = 8;
  map<bool, int32> m_bool = 9;
  map<sfixed64, sint32> m_sfixed64 = 10;
}

// Nesting, recursion and oneofs.
message Outer {
  // A recursive inner node.
  message Inner {
    int64 id = 1;
    repeated Inner children = 2;
    string label = 3;
  }
  enum Kind {
    KIND_NONE = 0;
    KIND_SOME = 1;
  }
  Inner inner = 1;
  // The outcome.
  oneof result {
    // Success text.
    string ok = 2;
    Inner err = 3;
    int64 big = 4;
    State state = 5;
    bytes raw = 11;
  }
  repeated Inner list = 6;
  uint32 after = 7;
  oneof split {
    int32 s1 = 8;
    string s2 = 10;
  }
  int32 between = 9;
  Kind kind = 12;
}

message Empty {}
`;

export const PROTO2_FIXTURE = `syntax = "proto2";
package lg;

enum Level {
  MID = 2;
  LOW = 1;
  HIGH = 5;
}

enum Dense {
  D0 = 0;
  D1 = 1;
  D2 = 2;
}

enum Sparse {
  SPARSE_A = 3;
  SPARSE_B = 100;
}

// A proto2 message.
message Legacy {
  required string id = 1;
  required int32 count = 2 [default = 7];
  optional int32 limit = 3 [default = 42];
  optional Level level = 4 [default = HIGH];
  required Level required_level = 5;
  repeated int32 unpacked = 6;
  repeated int32 packed = 7 [packed = true];
  repeated Level levels = 8;
  optional int64 big = 9 [default = -5];
  optional string name = 10 [default = "hi"];
  optional bytes blob = 11;
  optional Legacy child = 12;
  optional Sparse sparse = 13;
  map<string, Level> level_map = 14;
  oneof choice {
    Level choice_level = 15;
    string choice_text = 16;
  }
  required uint64 serial = 17 [default = 12345678901];
  optional float ratio = 18 [default = inf];
  optional bool flag = 19 [default = true];
  optional Dense dense = 20;
}
`;

/** Size bounds on strings, bytes, lists, maps, a oneof member and list of messages; one field unbounded. */
export const BOUNDED_FIXTURE = `syntax = "proto3";
package bd;
import "paynet/options.proto";

message Bounded {
  string name = 1 [(paynet.max_size) = 6];
  bytes blob = 2 [(paynet.max_size) = 4];
  repeated string tags = 3 [(paynet.max_count) = 2, (paynet.max_size) = 3];
  repeated uint32 codes = 4 [(paynet.max_count) = 3];
  map<string, bytes> attrs = 5 [(paynet.max_count) = 2, (paynet.max_size) = 2];
  oneof choice {
    string label = 6 [(paynet.max_size) = 1];
    uint32 number = 7;
  }
  repeated Item items = 8 [(paynet.max_count) = 1];
  string free = 9;
}

message Item { string id = 1 [(paynet.max_size) = 2]; }
`;
