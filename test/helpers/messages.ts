/**
 * Small message set for runtime tests, shaped like the paybox protocol
 * (/work/shared/reference/paybox.original.proto) but built with protobufjs reflection so the
 * runtime can be tested without the generator.
 */
import type { MessageDef, PaynetError, RequestSpec } from "@paynet/runtime";
import protobuf from "protobufjs";
import { type LoginStepSpec, Registry } from "../../runtime/src/registry.js";
import type { ErrorMessageSpec, ServerContext } from "../../runtime/src/server/types.js";

const PROTO = `
syntax = "proto3";
package paytest;

message RegisterReq { string device_sn = 1; string model = 2; string firmware = 3; bytes device_pubkey = 4; }
message RegisterRsp { uint32 code = 1; string msg = 2; string device_id = 3; }
message LoginReq { string device_id = 1; string token = 2; string version = 3; }
message LoginRsp { uint32 code = 1; string msg = 2; string resume_token = 3; }
message Ping { uint64 timestamp = 1; uint32 uptime = 2; int32 signal = 3; string ip = 4; }
message Pong { uint64 timestamp = 1; }
message Command { string order_id = 1; uint32 coins = 2; uint32 timeout = 3; }
message Ack { string order_id = 1; uint32 state = 2; uint32 progress = 3; string error = 4; }
message ErrorMsg { uint32 code = 1; string msg = 2; }
`;

const root = protobuf.parse(PROTO).root;

/** Result codes, as in paybox `ResultCode`. */
export const ResultCode = {
  OK: 0,
  FAILED: 1,
  UNAUTHORIZED: 2,
  PARAM_ERROR: 3,
  DEVICE_NOT_FOUND: 4,
  ORDER_DUPLICATED: 5,
} as const;

/** Command progress states, as in paybox `CoinState`. */
export const AckState = { ACCEPTED: 0, RUNNING: 1, DONE: 2, FAILED: 3 } as const;

export interface RegisterReq {
  deviceSn: string;
  model?: string;
  firmware?: string;
  devicePubkey?: Uint8Array;
}
export interface RegisterRsp {
  code: number;
  msg?: string;
  deviceId?: string;
}
export interface LoginReq {
  deviceId: string;
  token?: string;
  version?: string;
}
export interface LoginRsp {
  code: number;
  msg?: string;
  resumeToken?: string;
}
/** `timestamp` is a uint64: accepted as number or decimal string, decoded as a decimal string. */
export interface Ping {
  timestamp?: string | number;
  uptime?: number;
  signal?: number;
  ip?: string;
}
export interface Pong {
  timestamp?: string | number;
}
export interface Command {
  orderId: string;
  coins: number;
  timeout?: number;
}
export interface Ack {
  orderId: string;
  state: number;
  progress?: number;
  error?: string;
}
export interface ErrorMsg {
  code: number;
  msg?: string;
}

function def<T>(type: number, name: string): MessageDef<T> {
  const message = root.lookupType(name);
  return {
    type,
    name: message.fullName.replace(/^\./, ""),
    codec: {
      encode: (value: T) => message.encode(message.fromObject(value as Record<string, unknown>)).finish(),
      decode: (bytes: Uint8Array) =>
        message.toObject(message.decode(bytes), { longs: String, defaults: true }) as T,
    },
  };
}

export const RegisterReqDef = def<RegisterReq>(0x01, "paytest.RegisterReq");
export const RegisterRspDef = def<RegisterRsp>(0x81, "paytest.RegisterRsp");
export const LoginReqDef = def<LoginReq>(0x02, "paytest.LoginReq");
export const LoginRspDef = def<LoginRsp>(0x82, "paytest.LoginRsp");
export const PingDef = def<Ping>(0x03, "paytest.Ping");
export const PongDef = def<Pong>(0x83, "paytest.Pong");
export const CommandDef = def<Command>(0x04, "paytest.Command");
export const AckDef = def<Ack>(0x84, "paytest.Ack");
export const ErrorMsgDef = def<ErrorMsg>(0xff, "paytest.ErrorMsg");

/** Every test message, in Type order of the request/reply pairs. */
export const allMessages: readonly MessageDef<unknown>[] = [
  RegisterReqDef,
  RegisterRspDef,
  LoginReqDef,
  LoginRspDef,
  PingDef,
  PongDef,
  CommandDef,
  AckDef,
  ErrorMsgDef,
] as MessageDef<unknown>[];

/** Name of a test message Type (for stats snapshots); `undefined` for unknown Types. */
export function nameOfType(type: number): string | undefined {
  return allMessages.find((m) => m.type === type)?.name;
}

export const registerSpec: RequestSpec<RegisterReq, RegisterRsp> = {
  request: RegisterReqDef,
  reply: RegisterRspDef,
};
export const loginSpec: RequestSpec<LoginReq, LoginRsp> = { request: LoginReqDef, reply: LoginRspDef };
export const pingSpec: RequestSpec<Ping, Pong> = { request: PingDef, reply: PongDef };
/** Command → Ack correlated by order id; several Acks per command (ACCEPTED, RUNNING, DONE). */
export const commandSpec: RequestSpec<Command, Ack> = {
  request: CommandDef,
  reply: AckDef,
  requestKey: (command) => command.orderId,
  replyKey: (ack) => ack.orderId,
};

/** An Ack is final once the command is DONE or FAILED. */
export function ackIsFinal(ack: Ack): boolean {
  return ack.state === AckState.DONE || ack.state === AckState.FAILED;
}

/**
 * The server registry of the stress suites: `LoginReq` logs the session in as its device id (code 0),
 * `Ping` is answered with a `Pong` echoing its timestamp (both are the login flow: `beforeLogin`),
 * `Ack`s (command replies) are accepted once logged in.
 * No vitest import on this path: child processes of the chaos suite use it too.
 */
export function loginPingAckRegistry(): Registry<ServerContext> {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      beforeLogin: true,
      handler: (req, ctx) => {
        ctx.session.login(req.deviceId);
        return { code: 0 };
      },
    })
    .register(PingDef, {
      reply: PongDef,
      beforeLogin: true,
      handler: (ping) => ({ timestamp: ping.timestamp ?? 0 }),
    })
    .register(AckDef);
}

/**
 * The register and login steps of the test protocol as a generated SDK declares them: RegisterReq
 * claims `deviceSn`, its reply assigns `deviceId`, LoginReq claims `deviceId`; refusals are answered
 * with code UNAUTHORIZED and the reason.
 */
export const registerStep: LoginStepSpec<RegisterReq, RegisterRsp> = {
  step: "register",
  serial: (message) => message.deviceSn,
  assignedDeviceId: (reply) => reply.deviceId,
  refuse: (error) => ({ code: ResultCode.UNAUTHORIZED, msg: error.reason }),
};
export const loginStepSpec: LoginStepSpec<LoginReq, LoginRsp> = {
  step: "login",
  deviceId: (message) => message.deviceId,
  refuse: (error) => ({ code: ResultCode.UNAUTHORIZED, msg: error.reason }),
};

/**
 * The error message spec of the test protocol: `ErrorMsg { code: 1, msg: "CODE: message" }`; the
 * close notices (`SESSION_REPLACED`, `SERVER_DRAINING`) are read back by the code before the colon.
 */
export const testErrorMessage: ErrorMessageSpec<ErrorMsg> = {
  def: ErrorMsgDef,
  build: (error: PaynetError): ErrorMsg => ({ code: 1, msg: `${error.code}: ${error.message}` }),
  noticeOf: (message) => {
    const code = /^([A-Z_]+):/.exec(message.msg ?? "")?.[1];
    return code === "SESSION_REPLACED" || code === "SERVER_DRAINING" ? code : undefined;
  },
};
