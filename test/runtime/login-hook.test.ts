/**
 * `ServerOptions.authorizeLogin`: the hook that decides each register/login step (sync or async)
 * in place of the certificate binding, seeing the verified certificate identity, the claim, the
 * message and the peer. Real TLS on 127.0.0.1, certificates made here.
 */
import { describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import type { LoginAttempt } from "../../runtime/src/server/authorize.js";
import { PaynetServer } from "../../runtime/src/server/server.js";
import type { ServerContext, ServerOptions, Session } from "../../runtime/src/server/types.js";
import {
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  loginStepSpec,
  RegisterReqDef,
  type RegisterRsp,
  RegisterRspDef,
  ResultCode,
  registerStep,
} from "../helpers/messages.js";
import { setUpServerTests, startTestServer, testErrorMessage } from "../helpers/test-server.js";

const pki = await setUpServerTests();
const boxCert = await pki.issueDevice("SN-BOX");

const mtls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true };

async function startHookServer(authorizeLogin: NonNullable<ServerOptions["authorizeLogin"]>) {
  const handled: string[] = [];
  const registry = new Registry<ServerContext>()
    .register(RegisterReqDef, {
      reply: RegisterRspDef,
      loginStep: registerStep,
      handler: (message): RegisterRsp => {
        handled.push(`register ${message.deviceSn}`);
        return { code: ResultCode.OK, deviceId: `dev-${message.deviceSn}` };
      },
    })
    .register(LoginReqDef, {
      reply: LoginRspDef,
      loginStep: loginStepSpec,
      handler: (message: LoginReq, ctx) => {
        handled.push(`login ${message.deviceId}`);
        ctx.session.login(message.deviceId);
        return { code: ResultCode.OK };
      },
    });
  const t = await startTestServer(pki, {
    tls: mtls,
    registry,
    errorMessage: testErrorMessage,
    authorizeLogin,
  });
  const device = await t.connect({ cert: boxCert.cert, key: boxCert.key });
  const session = await t.nextSession();
  return { t, device, session, handled };
}

describe("authorizeLogin", () => {
  it("sees the certificate identity, the claim, the message and the peer; its reason is the refusal", async () => {
    const attempts: LoginAttempt[] = [];
    const { t, device, session, handled } = await startHookServer((attempt) => {
      attempts.push(attempt);
      return "fleet is in maintenance";
    });
    device.send(LoginReqDef, { deviceId: "dev-SN-BOX", token: "t1" });
    expect(await device.next(LoginRspDef)).toMatchObject({
      code: ResultCode.UNAUTHORIZED,
      msg: "fleet is in maintenance",
    });
    await device.closed;
    expect(handled).toEqual([]);
    expect(session.online).toBe(false);
    const [attempt] = attempts;
    expect(attempt).toMatchObject({
      step: "login",
      deviceId: "dev-SN-BOX",
      serial: undefined,
      message: { deviceId: "dev-SN-BOX", token: "t1" },
      peer: `127.0.0.1:${session.remotePort}`,
      session,
    });
    expect(attempt?.identity).toMatchObject({
      commonName: "SN-BOX",
      subjectAltNames: ["DNS:SN-BOX"],
      fingerprint256: session.identity?.fingerprint256,
    });
    expect((await t.nextError("LOGIN_REFUSED")).message).toContain("fleet is in maintenance");
  });

  it("may accept what the certificate binding refuses, asynchronously", async () => {
    const { t, device, handled } = await startHookServer(async (attempt) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      // A service whose device ids are unrelated to serials: its inventory says who is who.
      return attempt.identity?.commonName === "SN-BOX" && attempt.deviceId === "kiosk-7";
    });
    const online = new Promise<Session>((resolve) => t.server.once("online", resolve));
    device.send(LoginReqDef, { deviceId: "kiosk-7" });
    expect((await device.next(LoginRspDef)).code).toBe(ResultCode.OK);
    expect((await online).deviceId).toBe("kiosk-7");
    expect(handled).toEqual(["login kiosk-7"]);
  });

  it("can add its own rule to the certificate binding", async () => {
    const { device, handled } = await startHookServer(async (attempt) => {
      const bound = await attempt.certificateBinding();
      if (bound !== true) return bound;
      return attempt.step === "register" && attempt.message !== undefined ? true : "logins are closed";
    });
    device.send(RegisterReqDef, { deviceSn: "SN-OTHER" });
    expect((await device.next(RegisterRspDef)).msg).toBe(
      'the certificate names device "SN-BOX", not "SN-OTHER"',
    );
    expect(handled).toEqual([]);
  });

  it("refuses with a clear reason when the hook throws, returns false or returns nonsense", async () => {
    for (const [hook, reason] of [
      [
        () => {
          throw new Error("inventory down");
        },
        "authorizeLogin failed: inventory down",
      ],
      [() => false, "refused by authorizeLogin"],
      [() => undefined as never, "authorizeLogin returned undefined (expected true, false or a reason)"],
    ] as const) {
      const { device } = await startHookServer(hook);
      device.send(RegisterReqDef, { deviceSn: "SN-BOX" });
      expect(await device.next(RegisterRspDef)).toMatchObject({ code: ResultCode.UNAUTHORIZED, msg: reason });
    }
  });

  it("must be a function", () => {
    expect(
      () =>
        new PaynetServer({
          tls: mtls,
          registry: new Registry<ServerContext>(),
          authorizeLogin: "yes" as never,
        }),
    ).toThrow(/invalid option authorizeLogin: expected a function, got "yes"/);
  });
});
