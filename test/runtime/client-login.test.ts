import { describe, expect, it } from "vitest";
import { loginStep } from "../../runtime/src/client/login.js";
import { LoginRefusedError, type PaynetError } from "../../runtime/src/errors.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerSession } from "../../runtime/src/server/session.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  collectErrors,
  makeClient,
  nextEvent,
  recordEvents,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import {
  LoginReqDef,
  type LoginRsp,
  LoginRspDef,
  loginSpec,
  RegisterReqDef,
  type RegisterRsp,
  RegisterRspDef,
  ResultCode,
  registerSpec,
} from "../helpers/messages.js";
import { startTestServer } from "../helpers/test-server.js";

const pki = await setUpClientTests();

describe("PaynetClient: login flow", () => {
  it("runs register then login after every (re)connect, building each request anew", async () => {
    const seen: string[] = [];
    const registry = new Registry<ServerContext>()
      .register(RegisterReqDef, {
        reply: RegisterRspDef,
        handler: (req): RegisterRsp => {
          seen.push(`register ${req.deviceSn}`);
          return { code: ResultCode.OK, deviceId: `id-${req.deviceSn}` };
        },
      })
      .register(LoginReqDef, {
        reply: LoginRspDef,
        handler: (req, ctx): LoginRsp => {
          seen.push(`login ${req.deviceId} ${req.token}`);
          ctx.session.login(req.deviceId);
          return { code: ResultCode.OK, resumeToken: `token-${seen.length}` };
        },
      });
    const server = await startTestServer(pki, { registry });
    let deviceId = "unknown";
    let token = "none";
    let builds = 0;
    const client = makeClient(pki, server.port, {
      login: {
        register: loginStep({
          spec: registerSpec,
          build: () => ({ deviceSn: "SN1" }),
          accept: (reply) => {
            deviceId = reply.deviceId ?? "";
            return true;
          },
        }),
        login: loginStep({
          spec: loginSpec,
          build: () => {
            builds++;
            return { deviceId, token };
          },
          accept: (reply) => {
            token = reply.resumeToken ?? "";
            return true;
          },
        }),
      },
    });
    client.start();
    await nextEvent(client, "online");
    expect(client.online).toBe(true);
    const online = nextEvent(client, "online");
    (server.server.session("id-SN1") as ServerSession).close("drop");
    await online;
    expect(builds).toBe(2);
    expect(seen).toEqual(["register SN1", "login id-SN1 none", "register SN1", "login id-SN1 token-2"]);
  });

  it("is online only after the login is accepted: no `online` before the reply", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const registry = new Registry<ServerContext>().register(LoginReqDef, {
      reply: LoginRspDef,
      handler: async (req, ctx) => {
        await gate;
        ctx.session.login(req.deviceId);
        return { code: ResultCode.OK };
      },
    });
    const server = await startTestServer(pki, { registry });
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "connected");
    await server.nextSession();
    expect(client.online).toBe(false);
    await expect(client.request(loginSpec, { deviceId: "x" })).rejects.toMatchObject({
      code: "NOT_CONNECTED",
    });
    release();
    await nextEvent(client, "online");
    expect(client.online).toBe(true);
  });

  it("emits loginRefused with the server's code and retries with backoff by default", async () => {
    let refuse = 2;
    const server = await startLoginServer(pki, {
      loginCode: () => (refuse-- > 0 ? ResultCode.UNAUTHORIZED : ResultCode.OK),
    });
    const client = makeClient(pki, server.port);
    const refusals: PaynetError[] = [];
    client.on("loginRefused", (error) => refusals.push(error));
    const errors = collectErrors(client);
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "online");
    expect(refusals).toHaveLength(2);
    const refusal = refusals[0] as LoginRefusedError;
    expect(refusal).toBeInstanceOf(LoginRefusedError);
    expect(refusal.resultCode).toBe(ResultCode.UNAUTHORIZED);
    expect(refusal.step).toBe("login");
    expect(refusal.message).toBe(
      `login refused by server with code 2: refused by test (peer 127.0.0.1:${server.port}, paytest.LoginRsp)`,
    );
    expect(errors.filter((e) => e.code === "LOGIN_REFUSED")).toHaveLength(2);
    expect(events.filter((e) => e[0] === "reconnecting").map((e) => e[1])).toEqual([
      { attempt: 2, delayMs: 20 },
      { attempt: 3, delayMs: 40 },
    ]);
    expect(server.logins).toHaveLength(3);
  });

  it("stops on refusal with policy 'stop': wait() rejects with the LoginRefusedError", async () => {
    const server = await startLoginServer(pki, { loginCode: () => ResultCode.DEVICE_NOT_FOUND });
    const decisions: string[] = [];
    const client = makeClient(pki, server.port, {
      login: {
        login: loginStep({
          spec: loginSpec,
          build: () => ({ deviceId: "ghost" }),
          accept: (rsp) => (rsp.code === 0 ? true : { code: rsp.code }),
        }),
        onRefused: (error) => {
          decisions.push(error.code);
          return "stop";
        },
      },
    });
    const refused = nextEvent(client, "loginRefused");
    await expect(client.run()).rejects.toMatchObject({
      code: "LOGIN_REFUSED",
      resultCode: ResultCode.DEVICE_NOT_FOUND,
    });
    await refused;
    expect(decisions).toEqual(["LOGIN_REFUSED"]);
    expect(server.logins).toEqual(["ghost"]);
    expect(client.online).toBe(false);
  });

  it("fails a login that gets no reply with LoginTimeoutError and reconnects", async () => {
    const registry = new Registry<ServerContext>().register(LoginReqDef); // never answers
    const server = await startTestServer(pki, { registry });
    const client = makeClient(pki, server.port, {
      login: { login: loginStep({ spec: loginSpec, build: () => ({ deviceId: "d" }) }), timeoutMs: 100 },
    });
    client.start();
    const [error] = await nextEvent(client, "error");
    expect(error.code).toBe("LOGIN_TIMEOUT");
    expect(error.message).toBe(`no login reply within 100 ms (peer 127.0.0.1:${server.port})`);
    await nextEvent(client, "reconnecting");
    await nextEvent(client, "connected");
  });

  it("grows the backoff with refusals and restarts it after a (stable) session drops", async () => {
    let refusals = 3;
    const server = await startLoginServer(pki, {
      loginCode: () => (refusals-- > 0 ? ResultCode.FAILED : ResultCode.OK),
    });
    const client = makeClient(pki, server.port, {
      // No spread after the drop, so the reset to the first exponential delay is visible; every
      // session counts as stable (the stability window has its own test).
      reconnect: { initialDelayMs: 10, maxDelayMs: 1_000, jitter: 0, spreadMs: 0, stableAfterMs: 0 },
    });
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "online");
    const offline = nextEvent(client, "offline");
    const back = nextEvent(client, "online");
    (server.server.session("device-001") as ServerSession).close("drop");
    await offline;
    await back;
    const delays = events.filter((e) => e[0] === "reconnecting").map((e) => e[1]);
    // Three refusals grow the delay; the drop after a successful login starts again from the first.
    expect(delays).toEqual([
      { attempt: 2, delayMs: 10 },
      { attempt: 3, delayMs: 20 },
      { attempt: 4, delayMs: 40 },
      { attempt: 1, delayMs: 10 },
    ]);
  });

  it("gives up after reconnect.maxAttempts and rejects wait() with the last error", async () => {
    const server = await startLoginServer(pki, { loginCode: () => ResultCode.FAILED });
    const client = makeClient(pki, server.port, {
      reconnect: { initialDelayMs: 5, jitter: 0, maxAttempts: 2 },
    });
    await expect(client.run()).rejects.toMatchObject({ code: "LOGIN_REFUSED" });
    expect(server.logins).toHaveLength(2);
  });
});
