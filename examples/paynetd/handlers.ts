/** paynetd's business rules: one handler per message a device sends. */
import { randomBytes } from "node:crypto";
import { CoinState, type PayboxServerHandlers, ResultCode } from "../sdk/index.js";
import { coinStateName, resultCodeName } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";
import { type Log, wireText } from "../shared/log.js";
import type { OrderDesk } from "./orders.js";
import type { PaynetdStore } from "./store.js";

export interface HandlerDeps {
  readonly state: PaynetdStore;
  readonly orders: OrderDesk;
  /** Read at each login: a SIGHUP may change it. */
  readonly token: string;
  readonly log: Log;
}

/** The handlers of paynetd. */
export function paynetdHandlers(deps: HandlerDeps): PayboxServerHandlers {
  const { state, orders, log } = deps;
  return {
    async RegisterReq(message, ctx) {
      log.info(
        `<- RegisterReq sn=${wireText(message.deviceSn)} model=${message.model || "-"} firmware=${message.firmware || "-"} from ${ctx.session.peer}`,
      );
      if (message.deviceSn === "") {
        log.info(`-> RegisterRsp PARAM_ERROR "device_sn is required"`);
        return { code: ResultCode.PARAM_ERROR, msg: "device_sn is required" };
      }
      let registered: { deviceId: string; isNew: boolean };
      try {
        registered = await state.register(message.deviceSn);
      } catch (error) {
        const refusal = registrationRefusal(error);
        log.warn(`-> RegisterRsp ${resultCodeName(refusal.code)} "${refusal.msg}" (${ctx.session.peer})`);
        return refusal;
      }
      const { deviceId, isNew } = registered;
      const msg = isNew ? "registered" : "already registered";
      log.info(`-> RegisterRsp OK device_id=${deviceId} "${msg}"`);
      return { code: ResultCode.OK, msg, deviceId };
    },

    async LoginReq(message, ctx) {
      log.info(
        `<- LoginReq device_id=${wireText(message.deviceId)} version=${message.version || "-"} from ${ctx.session.peer}`,
      );
      // An unknown device id is refused like a wrong token, so a login attempt does not learn which
      // device ids exist.
      const refusal = !(await state.isRegistered(message.deviceId))
        ? { code: ResultCode.UNAUTHORIZED, msg: `unknown device ${message.deviceId}; register first` }
        : message.token !== deps.token
          ? { code: ResultCode.UNAUTHORIZED, msg: "invalid token" }
          : undefined;
      if (refusal !== undefined) {
        log.info(`-> LoginRsp ${resultCodeName(refusal.code)} "${refusal.msg}"`);
        return refusal;
      }
      const resumeToken = randomBytes(12).toString("hex");
      // Answer first, then go online: whatever is sent to an online device must follow its LoginRsp.
      await ctx.reply({ code: ResultCode.OK, msg: "welcome", resumeToken });
      log.info(`-> LoginRsp OK device_id=${message.deviceId} resume_token=${resumeToken}`);
      ctx.session.login(message.deviceId);
      return undefined;
    },

    Ping(message, ctx) {
      const device = ctx.session.deviceId ?? ctx.session.peer;
      // Heartbeats are debug lines: a fleet sends one per device per minute.
      log.debug(`<- Ping ${device} timestamp=${message.timestamp} uptime=${message.uptime}s`);
      const timestamp = BigInt(Date.now());
      log.debug(`-> Pong ${device} timestamp=${timestamp}`);
      return { timestamp };
    },

    async QueryReq(message, ctx) {
      const device = ctx.session.deviceId ?? ctx.session.peer;
      log.info(`<- QueryReq ${device} order=${wireText(message.orderId)}`);
      // Another device's order is answered exactly like a missing one.
      const order =
        ctx.session.deviceId === undefined
          ? undefined
          : await state.order(ctx.session.deviceId, message.orderId);
      const reply =
        order === undefined
          ? {
              orderId: message.orderId,
              state: CoinState.COIN_FAILED,
              progress: 0,
              error: `unknown order ${message.orderId}`,
            }
          : { orderId: order.orderId, state: order.state, progress: order.progress, error: order.error };
      const error = reply.error === "" ? "" : ` error="${reply.error}"`;
      log.info(
        `-> QueryRsp ${device} order=${reply.orderId} state=${coinStateName(reply.state)} progress=${reply.progress}${error}`,
      );
      return reply;
    },

    CoinAck(message, ctx) {
      // Acks of a command still being delivered go to its delivery; these are the others (repeats).
      const deviceId = ctx.session.deviceId;
      if (deviceId === undefined) {
        log.warn(`<- CoinAck from ${ctx.session.peer} before login ignored (order=${message.orderId})`);
        return;
      }
      return orders.recordAck(deviceId, message);
    },

    ErrorMsg(message, ctx) {
      log.warn(
        `<- ErrorMsg ${ctx.session.deviceId ?? ctx.session.peer} code=${message.code} "${message.msg}"`,
      );
    },
  };
}

/** The RegisterRsp refusing a registration the state did not take (bad serial, registry full). */
function registrationRefusal(error: unknown): { code: ResultCode; msg: string } {
  if (error instanceof ExampleError && error.code === "DEVICE_SN_INVALID")
    return { code: ResultCode.PARAM_ERROR, msg: error.message };
  if (error instanceof ExampleError && error.code === "DEVICES_FULL")
    return { code: ResultCode.FAILED, msg: error.message };
  throw error;
}
