/**
 * Helpers for device-client tests: a real PaynetServer that runs the test login protocol, a client
 * factory with fast test timings, and event waiters. Everything runs over real TLS on 127.0.0.1.
 */
import { afterEach } from "vitest";
import { PaynetClient } from "../../runtime/src/client/client.js";
import { loginStep } from "../../runtime/src/client/login.js";
import type { ClientContext, ClientEvents, ClientOptions } from "../../runtime/src/client/types.js";
import type { PaynetError } from "../../runtime/src/errors.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext, ServerOptions } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  type ErrorMsg,
  ErrorMsgDef,
  LoginReqDef,
  type LoginRsp,
  LoginRspDef,
  loginSpec,
  PingDef,
  PongDef,
  ResultCode,
} from "./messages.js";
import { makeTestPki, type TestPki } from "./pki.js";
import { startTestServer, stopAll, type TestServer } from "./test-server.js";
import { scaled } from "./time.js";

/**
 * The common setup of a client test file; call once at its top level
 * (`const pki = await setUpClientTests();`). After each test, every client made by
 * {@link makeClient} and every test server is stopped. Resolves with the (memoised) test PKI.
 */
export function setUpClientTests(): Promise<TestPki> {
  afterEach(async () => {
    await stopClients();
    await stopAll();
  });
  return makeTestPki();
}

/** Options of {@link startLoginServer}. */
export interface LoginServerOptions {
  /** Result code of each login (default OK); anything else refuses it. */
  loginCode?: (deviceId: string) => number;
  /** Answer pings with pongs (default true). */
  answerPings?: boolean;
  /** Handler of Acks no request or delivery waits for (default: ignored). */
  onAck?: (ack: Ack) => void;
  /** Handler of the error messages devices send (default: not registered). */
  onErrorMessage?: (error: ErrorMsg) => void;
  server?: Partial<ServerOptions>;
}

/** A test server whose LoginReq handler logs the device in; records logins and ping timestamps. */
export async function startLoginServer(
  pki: TestPki,
  options: LoginServerOptions = {},
): Promise<TestServer & { logins: string[]; pings: string[] }> {
  const logins: string[] = [];
  const pings: string[] = [];
  const registry = new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      handler: (req, ctx): LoginRsp => {
        logins.push(req.deviceId);
        const code = options.loginCode?.(req.deviceId) ?? ResultCode.OK;
        if (code !== ResultCode.OK) return { code, msg: "refused by test" };
        ctx.session.login(req.deviceId);
        return { code, resumeToken: `t${logins.length}` };
      },
    })
    .register(PingDef, {
      reply: PongDef,
      handler: (ping) => {
        pings.push(String(ping.timestamp ?? ""));
        return options.answerPings === false ? undefined : { timestamp: ping.timestamp ?? 0 };
      },
    })
    .register(AckDef, options.onAck === undefined ? {} : { handler: (ack) => void options.onAck?.(ack) });
  const onErrorMessage = options.onErrorMessage;
  if (onErrorMessage !== undefined) {
    registry.register(ErrorMsgDef, { handler: (error) => void onErrorMessage(error) });
  }
  const server = await startTestServer(pki, { registry, ...options.server });
  return Object.assign(server, { logins, pings });
}

/** Client registry of the test protocol: knows Pong (heartbeat answers). */
export function clientRegistry(): Registry<ClientContext> {
  return new Registry<ClientContext>().register(PongDef);
}

const clients = new Set<PaynetClient>();

/**
 * A client for `port` trusting the test CA, logging in as `deviceId` with fast test timings
 * (no jitter unless overridden). Stopped by {@link stopClients}.
 */
export function makeClient(
  pki: TestPki,
  port: number,
  overrides: Partial<ClientOptions> & { deviceId?: string } = {},
): PaynetClient {
  const { deviceId = "device-001", ...rest } = overrides;
  const client = new PaynetClient({
    host: "127.0.0.1",
    port,
    tls: { ca: pki.ca.cert, servername: "localhost" },
    registry: clientRegistry(),
    login: {
      login: loginStep({
        spec: loginSpec,
        build: () => ({ deviceId, token: "secret" }),
        accept: (rsp) => (rsp.code === ResultCode.OK ? true : { code: rsp.code, message: rsp.msg ?? "" }),
      }),
      // Runtime timeouts a loaded machine must not trip: tests of the timeouts set their own.
      timeoutMs: scaled(10_000),
    },
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
    connectTimeoutMs: scaled(10_000),
    ...rest,
  } as ClientOptions);
  clients.add(client);
  return client;
}

/** Stops every client made by {@link makeClient}. */
export async function stopClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.stop()));
  clients.clear();
}

/**
 * Resolves with the arguments of the next `event` (matching `filter`), or rejects after `safetyMs`
 * stretched by the time factor (a safety net: the wait is for the event).
 */
export function nextEvent<K extends keyof ClientEvents>(
  client: PaynetClient,
  event: K,
  filter: (...args: ClientEvents[K]) => boolean = () => true,
  safetyMs = 20_000,
): Promise<ClientEvents[K]> {
  const timeoutMs = scaled(safetyMs);
  return new Promise((resolve, reject) => {
    const listener = (...args: ClientEvents[K]) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      (client.off as (e: K, l: (...a: ClientEvents[K]) => void) => void)(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      (client.off as (e: K, l: (...a: ClientEvents[K]) => void) => void)(event, listener);
      reject(new Error(`client: timed out after ${timeoutMs} ms waiting for '${String(event)}'`));
    }, timeoutMs);
    (client.on as (e: K, l: (...a: ClientEvents[K]) => void) => void)(event, listener);
  });
}

/** Records every event of `client` in order, as `[name, ...args]`. */
export function recordEvents(client: PaynetClient): Array<[keyof ClientEvents, ...unknown[]]> {
  const log: Array<[keyof ClientEvents, ...unknown[]]> = [];
  const names: Array<keyof ClientEvents> = [
    "connecting",
    "connected",
    "online",
    "offline",
    "reconnecting",
    "loginRefused",
    "error",
  ];
  for (const name of names) {
    (client.on as (e: string, l: (...a: unknown[]) => void) => void)(name, (...args: unknown[]) =>
      log.push([name, ...args]),
    );
  }
  return log;
}

/** Collects `error` events. */
export function collectErrors(client: PaynetClient): PaynetError[] {
  const errors: PaynetError[] = [];
  client.on("error", (error) => errors.push(error));
  return errors;
}
