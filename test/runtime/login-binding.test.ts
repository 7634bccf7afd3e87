/**
 * The default login policy under mTLS: a client certificate acts only for the device its CN names.
 * The register step may claim only that serial, the login only the id registered for it; a refusal
 * is answered with the step's refusal reply, logged once, reported and closes the connection, and
 * never touches the claimed device's session. Real TLS on 127.0.0.1, certificates made here.
 */
import { describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import { MemoryRegisteredDevices } from "../../runtime/src/server/authorize.js";
import type { ServerSession } from "../../runtime/src/server/session.js";
import type { ServerContext, ServerOptions, Session } from "../../runtime/src/server/types.js";
import {
  CommandDef,
  ErrorMsgDef,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  loginStepSpec,
  type RegisterReq,
  RegisterReqDef,
  type RegisterRsp,
  RegisterRspDef,
  ResultCode,
  registerStep,
} from "../helpers/messages.js";
import type { IssuedCert } from "../helpers/pki.js";
import type { RawDevice } from "../helpers/raw-device.js";
import {
  setUpServerTests,
  startTestServer,
  type TestServer,
  testErrorMessage,
} from "../helpers/test-server.js";

const pki = await setUpServerTests();
const [victimCert, attackerCert] = await Promise.all([
  pki.issueDevice("SN-VICTIM"),
  pki.issueDevice("SN-ATTACK"),
]);

const mtls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true };

/** A paybox-like server: register assigns `dev-<serial>`, login logs the session in. */
async function startBindingServer(options: Partial<ServerOptions> = {}) {
  const registered: string[] = [];
  const loggedIn: string[] = [];
  const registry = new Registry<ServerContext>()
    .register(RegisterReqDef, {
      reply: RegisterRspDef,
      loginStep: registerStep,
      handler: (message: RegisterReq): RegisterRsp => {
        registered.push(message.deviceSn);
        return { code: ResultCode.OK, deviceId: `dev-${message.deviceSn}` };
      },
    })
    .register(LoginReqDef, {
      reply: LoginRspDef,
      loginStep: loginStepSpec,
      handler: async (message: LoginReq, ctx) => {
        loggedIn.push(message.deviceId);
        await ctx.reply({ code: ResultCode.OK });
        ctx.session.login(message.deviceId);
        return undefined;
      },
    });
  const t = await startTestServer(pki, { tls: mtls, registry, errorMessage: testErrorMessage, ...options });
  return Object.assign(t, { registered, loggedIn });
}

async function connectAs(t: TestServer, cert: IssuedCert): Promise<{ device: RawDevice; session: Session }> {
  const device = await t.connect({ cert: cert.cert, key: cert.key });
  const session = await t.nextSession();
  return { device, session };
}

/** Registers `serial` and logs in as the id the reply assigned; resolves once online. */
async function registerAndLogIn(t: TestServer, cert: IssuedCert, serial: string) {
  const online = new Promise<Session>((resolve) => t.server.once("online", resolve));
  const { device, session } = await connectAs(t, cert);
  device.send(RegisterReqDef, { deviceSn: serial });
  const registered = await device.next(RegisterRspDef);
  device.send(LoginReqDef, { deviceId: registered.deviceId ?? "" });
  const login = await device.next(LoginRspDef);
  expect(login.code).toBe(ResultCode.OK);
  expect(await online).toBe(session);
  return { device, session };
}

describe("certificate binding (the default login policy under mTLS)", () => {
  it("lets a device register its own serial and log in as the id registered for it", async () => {
    const t = await startBindingServer();
    const { session } = await registerAndLogIn(t, victimCert, "SN-VICTIM");
    expect(session.deviceId).toBe("dev-SN-VICTIM");
    expect(t.server.session("dev-SN-VICTIM")).toBe(session);
    expect(t.errors).toEqual([]);
  });

  it("refuses a register step claiming another serial: refusal reply, one log line, closed, no handler", async () => {
    const t = await startBindingServer();
    const { device, session } = await connectAs(t, attackerCert);
    device.send(RegisterReqDef, { deviceSn: "SN-VICTIM" });
    const reply = await device.next(RegisterRspDef);
    expect(reply.code).toBe(ResultCode.UNAUTHORIZED);
    expect(reply.msg).toBe('the certificate names device "SN-ATTACK", not "SN-VICTIM"');
    await device.closed;
    const reason = await t.offlineReason(session);
    expect(reason.code).toBe("LOGIN_REFUSED");
    expect(t.registered).toEqual([]);
    const error = await t.nextError("LOGIN_REFUSED");
    expect(error).toMatchObject({ step: "register", claimed: "SN-VICTIM" });
    const lines = t.logger.lines.filter((line) => line.message.includes("refused"));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.level).toBe("warn");
    // Peer, claim and certificate (CN and fingerprint) in the one line.
    expect(line.message).toContain(`peer 127.0.0.1:${session.remotePort}`);
    expect(line.message).toContain('register as "SN-VICTIM" refused');
    expect(line.message).toContain(`certificate CN=SN-ATTACK sha256=${session.identity?.fingerprint256}`);
    expect(line.fields).toMatchObject({ claimed: "SN-VICTIM", certificateCn: "SN-ATTACK" });
    // Counted by step (exported as paynet_login_refusals_total{step}).
    expect(t.server.stats().loginRefusals).toEqual({ register: 1, login: 0 });
    expect(t.server.stats().disconnects.LOGIN_REFUSED).toBe(1);
  });

  it("refuses a login as another device's id and leaves that device's session untouched", async () => {
    const t = await startBindingServer();
    const victim = await registerAndLogIn(t, victimCert, "SN-VICTIM");
    const attacker = await connectAs(t, attackerCert);
    attacker.device.send(RegisterReqDef, { deviceSn: "SN-ATTACK" });
    expect((await attacker.device.next(RegisterRspDef)).deviceId).toBe("dev-SN-ATTACK");
    attacker.device.send(LoginReqDef, { deviceId: "dev-SN-VICTIM" });
    const reply = await attacker.device.next(LoginRspDef);
    expect(reply).toMatchObject({
      code: ResultCode.UNAUTHORIZED,
      msg: 'the certificate names device "SN-ATTACK", registered as "dev-SN-ATTACK", not "dev-SN-VICTIM"',
    });
    await attacker.device.closed;
    expect((await t.offlineReason(attacker.session)).code).toBe("LOGIN_REFUSED");
    expect(attacker.session.online).toBe(false);
    expect(t.loggedIn).toEqual(["dev-SN-VICTIM"]);
    expect(t.server.stats().loginRefusals).toEqual({ register: 0, login: 1 });
    // The victim is still the device's session, online, and reachable.
    expect(t.server.session("dev-SN-VICTIM")).toBe(victim.session);
    expect(victim.session.online).toBe(true);
    expect(t.offline.some((o) => o.session === victim.session)).toBe(false);
    await t.server.send("dev-SN-VICTIM", CommandDef, { orderId: "o-1", coins: 1 });
    expect(await victim.device.next(CommandDef)).toMatchObject({ orderId: "o-1" });
  });

  it("refuses a login before any registration of the certificate's serial, unless the service knows it", async () => {
    const t = await startBindingServer();
    const { device } = await connectAs(t, victimCert);
    device.send(LoginReqDef, { deviceId: "dev-SN-VICTIM" });
    expect(await device.next(LoginRspDef)).toMatchObject({
      code: ResultCode.UNAUTHORIZED,
      msg: 'no device id is registered for the certificate\'s device "SN-VICTIM"; register first',
    });

    const devices = new MemoryRegisteredDevices();
    devices.remember("SN-VICTIM", "dev-SN-VICTIM");
    const known = await startBindingServer({ registeredDevices: devices });
    const online = new Promise<Session>((resolve) => known.server.once("online", resolve));
    const again = await connectAs(known, victimCert);
    again.device.send(LoginReqDef, { deviceId: "dev-SN-VICTIM" });
    expect((await again.device.next(LoginRspDef)).code).toBe(ResultCode.OK);
    expect((await online).deviceId).toBe("dev-SN-VICTIM");
  });

  it("checks session.login() outside a login step too: the certificate's CN when the protocol has no register step", async () => {
    const registry = new Registry<ServerContext>().register(LoginReqDef, {
      reply: LoginRspDef,
      handler: (message: LoginReq, ctx) => {
        ctx.session.login(message.deviceId);
        return { code: ResultCode.OK };
      },
    });
    const t = await startTestServer(pki, { tls: mtls, registry, errorMessage: testErrorMessage });
    const own = await connectAs(t, victimCert);
    own.device.send(LoginReqDef, { deviceId: "SN-VICTIM" });
    expect((await own.device.next(LoginRspDef)).code).toBe(ResultCode.OK);
    expect(t.server.session("SN-VICTIM")).toBe(own.session);

    const other = await connectAs(t, attackerCert);
    other.device.send(LoginReqDef, { deviceId: "SN-VICTIM" });
    const error = await other.device.next(ErrorMsgDef);
    expect(error.msg).toMatch(
      /^LOGIN_REFUSED: login as "SN-VICTIM" refused: the certificate names device "SN-ATTACK"/,
    );
    await other.device.closed;
    expect(other.session.deviceId).toBeUndefined();
    expect(t.server.session("SN-VICTIM")).toBe(own.session);
    expect((own.session as ServerSession).online).toBe(true);
    // Refused, not a handler failure: one line about it.
    expect(t.errors.map((e) => e.error.code)).toEqual(["LOGIN_REFUSED"]);
  });

  it("trusts no id from a register step that names no serial, and says why", async () => {
    const { serial: _serial, ...unbound } = registerStep;
    const registry = new Registry<ServerContext>()
      .register(RegisterReqDef, {
        reply: RegisterRspDef,
        loginStep: unbound,
        handler: (message: RegisterReq): RegisterRsp => ({
          code: ResultCode.OK,
          deviceId: `dev-${message.deviceSn}`,
        }),
      })
      .register(LoginReqDef, { reply: LoginRspDef, loginStep: loginStepSpec, handler: () => ({ code: 0 }) });
    const u = await startTestServer(pki, { tls: mtls, registry, errorMessage: testErrorMessage });
    const { device } = await connectAs(u, victimCert);
    device.send(RegisterReqDef, { deviceSn: "SN-VICTIM" });
    expect((await device.next(RegisterRspDef)).deviceId).toBe("dev-SN-VICTIM");
    device.send(LoginReqDef, { deviceId: "dev-SN-VICTIM" });
    expect((await device.next(LoginRspDef)).msg).toBe(
      'no device id is registered for the certificate\'s device "SN-VICTIM": the register message names no serial field ((paynet.identity) = SERIAL), so the ids it assigns are not bound to certificates',
    );
  });

  it("binds nothing without client certificates", async () => {
    const t = await startBindingServer({ tls: { cert: pki.server.cert, key: pki.server.key } });
    const online = new Promise<Session>((resolve) => t.server.once("online", resolve));
    const device = await t.connect();
    device.send(LoginReqDef, { deviceId: "dev-anything" });
    expect((await device.next(LoginRspDef)).code).toBe(ResultCode.OK);
    expect((await online).deviceId).toBe("dev-anything");
  });
});
