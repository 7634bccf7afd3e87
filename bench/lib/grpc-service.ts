/**
 * The gRPC comparison service: one unary method `/paybox.Bench/Query` taking the same QueryReq and
 * answering the same QueryRsp as the paynet scenario, (de)serialised with protobufjs. Defined with
 * grpc-js's generic service definition so no proto-loader dependency is needed.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";

const root = protobuf.parse(`
syntax = "proto3";
package paybox;
message QueryReq { string order_id = 1; }
message QueryRsp { string order_id = 1; int32 state = 2; uint32 progress = 3; string error = 4; }
`).root;

export const QueryReq = root.lookupType("paybox.QueryReq");
export const QueryRsp = root.lookupType("paybox.QueryRsp");

export interface QueryReqMessage {
  orderId: string;
}
export interface QueryRspMessage {
  orderId: string;
  state: number;
  progress: number;
}

export const benchService = {
  query: {
    path: "/paybox.Bench/Query",
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: QueryReqMessage) => Buffer.from(QueryReq.encode(message).finish()),
    requestDeserialize: (bytes: Buffer) => QueryReq.decode(bytes) as unknown as QueryReqMessage,
    responseSerialize: (message: QueryRspMessage) => Buffer.from(QueryRsp.encode(message).finish()),
    responseDeserialize: (bytes: Buffer) => QueryRsp.decode(bytes) as unknown as QueryRspMessage,
  },
} satisfies ServiceDefinition;
