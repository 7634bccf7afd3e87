/**
 * Hostile peers against one live mTLS server: each attack is refused with a typed error and a log
 * line, and a healthy logged-in device is answered before and after every one of them. Peers before
 * login (never logging in, non-login Types, oversize or header-only frames), bad-frame floods and
 * trust changes (a dropped CA, revoked certificates: connected sessions closed, resumed and full
 * handshakes refused) too.
 *
 * The server's timeouts are what some attacks are closed by, so they are short, but stretched by
 * PAYNET_TEST_TIME_FACTOR like every wait: the healthy device heartbeats at a quarter of the read
 * timeout and must never miss it because the machine is busy.
 */
import { connect as netConnect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AckDef, CommandDef, ErrorMsgDef, LoginReqDef, PingDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { RawDevice } from "../helpers/raw-device.js";
import { stopAll } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";
import { measureHeaderOnlyPeers } from "../stress/lib/header-only.js";
import { expectHeaderOnlyCheap } from "../stress/lib/header-only-assertions.js";
import { HEALTHY_ID, type HostileRig, startHostileRig } from "../stress/lib/hostile.js";
import { pingingWithoutLogin, unknownTypeFlood } from "../stress/lib/prelogin-attacks.js";
import { caDropped, fleetRevoked, twoCaTls } from "../stress/lib/trust-changes.js";

/** Read timeout of the main rig: what closes a slowloris peer. */
const READ_TIMEOUT_MS = scaled(2_000);
/** Handshake timeout of the main rig: what closes a silent TCP peer. */
const HANDSHAKE_TIMEOUT_MS = scaled(2_000);

let pki: TestPki;
let rig: HostileRig;

beforeAll(async () => {
  pki = await makeTestPki();
  rig = await startHostileRig(pki, {
    readTimeoutMs: READ_TIMEOUT_MS,
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  });
});
afterAll(stopAll);

/** The offline reason of the next session that goes offline after `action` connected it. */
async function offlineReasonOfNextSession(action: () => Promise<void>) {
  const sessionPromise = rig.t.nextSession();
  await action();
  const session = await sessionPromise;
  return rig.t.offlineReason(session, 5 * READ_TIMEOUT_MS);
}

function logged(level: string, text: RegExp): boolean {
  return rig.t.logger.lines.some((line) => line.level === level && text.test(line.message));
}

describe("hostile peers (the healthy device is served throughout)", () => {
  it("slowloris: a peer trickling one byte at a time is closed by the read timeout", async () => {
    await rig.roundTrip();
    const frame = Buffer.alloc(64);
    frame.writeUInt32BE(59, 0);
    frame[4] = PingDef.type;
    let device: RawDevice | undefined;
    let timer: NodeJS.Timeout | undefined;
    const reason = await offlineReasonOfNextSession(async () => {
      device = await RawDevice.connect({
        port: rig.t.port,
        ca: pki.ca.cert,
        cert: pki.device2.cert,
        key: pki.device2.key,
      });
      let sent = 0;
      // 16 bytes per read timeout: each byte arrives well within it, the 64-byte frame never does.
      timer = setInterval(
        () => {
          if (sent < frame.length && !device!.isClosed) device!.write(frame.subarray(sent, ++sent));
        },
        Math.floor(READ_TIMEOUT_MS / 16),
      );
    });
    clearInterval(timer);
    expect(reason.code).toBe("READ_TIMEOUT");
    await device!.closed;
    expect(logged("info", /offline/)).toBe(true);
    await rig.roundTrip();
  });

  it("a peer that never reads: the outbound queue stays bounded and the session is closed with QUEUE_FULL", async () => {
    const reader = await RawDevice.connect({
      port: rig.t.port,
      ca: pki.ca.cert,
      cert: pki.device2.cert,
      key: pki.device2.key,
    });
    reader.socket.pause();
    const session = await rig.t.nextSession();
    const big = { orderId: "x".repeat(8_000), coins: 1 };
    let sent = 0;
    let failure: unknown;
    // Bounded: with a 64-frame / 256 KiB queue and socket buffers, a few thousand frames must fill it.
    for (let i = 0; i < 20_000 && failure === undefined; i++) {
      try {
        await session.send(CommandDef, big);
        sent++;
      } catch (error) {
        failure = error;
      }
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect((failure as { code?: string }).code).toBe("QUEUE_FULL");
    expect((await rig.t.offlineReason(session)).code).toBe("QUEUE_FULL");
    expect(sent).toBeLessThan(20_000);
    expect(rig.t.server.stats().outboundQueue.fullErrors).toBeGreaterThanOrEqual(1);
    expect(logged("warn", /closing the session/)).toBe(true);
    reader.destroy();
    await rig.roundTrip();
  });

  it(
    "handshake flood: silent TCP connections time out, a burst of handshakes is absorbed",
    async () => {
      const silent: Socket[] = [];
      for (let i = 0; i < 100; i++) {
        const socket = netConnect({ port: rig.t.port, host: "127.0.0.1" });
        socket.on("error", () => {});
        silent.push(socket);
      }
      const burst = Array.from({ length: 50 }, () =>
        RawDevice.connect({
          port: rig.t.port,
          ca: pki.ca.cert,
          cert: pki.device2.cert,
          key: pki.device2.key,
          timeoutMs: 20_000,
        }),
      );
      await rig.roundTrip();
      const devices = await Promise.all(burst);
      await rig.roundTrip();
      await Promise.all(
        silent.map(
          (socket) =>
            new Promise((resolve) => (socket.destroyed ? resolve(null) : socket.once("close", resolve))),
        ),
      );
      expect(
        rig.t.errors.filter(
          (e) => e.error.code === "HANDSHAKE_TIMEOUT" || e.error.code === "HANDSHAKE_FAILED",
        ).length,
      ).toBeGreaterThanOrEqual(100);
      for (const device of devices) device.destroy();
      await rig.roundTrip();
    },
    scaled(60_000),
  );

  it("TLS 1.2 offered when 1.3 is required is refused with HANDSHAKE_FAILED", async () => {
    const before = rig.t.errors.length;
    await expect(
      RawDevice.connect({
        port: rig.t.port,
        ca: pki.ca.cert,
        cert: pki.device2.cert,
        key: pki.device2.key,
        maxVersion: "TLSv1.2",
      }),
    ).rejects.toThrow();
    const error = await waitForNewError(before, "HANDSHAKE_FAILED", /unsupported protocol|version/i);
    expect(error.peer ?? "").not.toContain("undefined");
    expect(
      logged("warn", /TLS handshake failed/) ||
        logged("info", /TLS handshake failed/) ||
        logged("debug", /TLS handshake failed/),
    ).toBe(true);
    await rig.roundTrip();
  });

  const refused: Array<[string, () => { cert?: string; key?: string }, RegExp]> = [
    [
      "a certificate from another CA",
      () => ({ cert: pki.foreignDevice.cert, key: pki.foreignDevice.key }),
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unknown ca/i,
    ],
    [
      "an expired certificate",
      () => ({ cert: pki.expiredDevice.cert, key: pki.expiredDevice.key }),
      /CERT_HAS_EXPIRED|expired/i,
    ],
    [
      "a revoked certificate",
      () => ({ cert: pki.revokedDevice.cert, key: pki.revokedDevice.key }),
      /revoked/i,
    ],
    ["no client certificate", () => ({}), /no client certificate/],
  ];
  for (const [what, credentials, reason] of refused) {
    it(`refuses ${what} with PEER_CERTIFICATE_REJECTED and a log line`, async () => {
      const before = rig.t.errors.length;
      const device = await RawDevice.connect({ port: rig.t.port, ca: pki.ca.cert, ...credentials() }).catch(
        () => undefined,
      );
      await device?.closed;
      const error = await waitForNewError(before, "PEER_CERTIFICATE_REJECTED");
      expect(error.message).toMatch(reason);
      expect(error.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(
        rig.t.logger.lines.some((l) => (l.level === "warn" || l.level === "info") && reason.test(l.message)),
      ).toBe(true);
      await rig.roundTrip();
    });
  }

  it("the healthy device stayed online through every attack", async () => {
    await rig.roundTrip();
    expect(rig.t.server.session(HEALTHY_ID)).toBeDefined();
    expect(rig.t.offline.some((o) => o.session.deviceId === HEALTHY_ID)).toBe(false);
  });
});

/** The first error event after index `from` with `code` (and a message matching `text`). */
async function waitForNewError(from: number, code: string, text = /./) {
  const deadline = Date.now() + scaled(10_000);
  for (;;) {
    const found = rig.t.errors.slice(from).find((e) => e.error.code === code && text.test(e.error.message));
    if (found !== undefined) return found.error;
    if (Date.now() > deadline) throw new Error(`no ${code} error event`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("slowloris at the issue's rate", () => {
  it("one byte per second: bytes keep coming, a frame never does, the read timeout closes it; the healthy device is served", async () => {
    const slow = await startHostileRig(pki, {
      readTimeoutMs: scaled(2_500),
      handshakeTimeoutMs: scaled(2_000),
    });
    await slow.roundTrip();
    const frame = Buffer.alloc(64);
    frame.writeUInt32BE(59, 0);
    frame[4] = PingDef.type;
    const sessionPromise = slow.t.nextSession();
    const device = await RawDevice.connect({
      port: slow.t.port,
      ca: pki.ca.cert,
      cert: pki.device2.cert,
      key: pki.device2.key,
    });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < frame.length && !device.isClosed) device.write(frame.subarray(sent, ++sent));
    }, 1_000);
    try {
      const reason = await slow.t.offlineReason(await sessionPromise, 20_000);
      expect(reason.code).toBe("READ_TIMEOUT");
      expect(sent).toBeGreaterThanOrEqual(2);
      expect(sent).toBeLessThan(frame.length);
    } finally {
      clearInterval(timer);
    }
    await device.closed;
    await slow.roundTrip();
  });
});

describe("peers before login and bad frames (the healthy device is served throughout)", () => {
  let guarded: HostileRig;
  beforeAll(async () => {
    guarded = await startHostileRig(
      pki,
      { readTimeoutMs: scaled(5_000), handshakeTimeoutMs: scaled(5_000) },
      { preLogin: { deadlineMs: scaled(1_000) }, badFrames: { maxPerWindow: 10 } },
    );
    await guarded.roundTrip();
  });

  it("peers that keep pinging but never log in are closed with LOGIN_TIMEOUT, one log line each", async () => {
    // 5 pings a second, half the pre-login rate limit: a busy machine that delivers a second's pings
    // in one burst must not turn the deadline into RATE_LIMITED.
    const result = await pingingWithoutLogin(guarded, pki, 20, 200);
    expect(result.reasons).toEqual(Array(20).fill("LOGIN_TIMEOUT"));
    expect(result.pongs).toBeGreaterThan(0);
    expect(result.maxWarnLinesPerSession).toBe(1);
    expect(result.healthyRoundTrips).toBeGreaterThan(0);
    expect(guarded.t.server.stats().preLogin.loginTimeouts).toBe(20);
  });

  it("a flood of unknown Types gives bounded log lines and closes each connection after N", async () => {
    const before = guarded.t.server.stats().badFrames;
    const result = await unknownTypeFlood(guarded, pki, 10, 5_000);
    expect(result.reasons).toEqual(Array(10).fill("TOO_MANY_BAD_FRAMES"));
    // Per connection: the first unknown Type, then the close; never one line per frame.
    expect(result.maxWarnLinesPerSession).toBe(2);
    const after = guarded.t.server.stats().badFrames;
    expect(after.unknownType - before.unknownType).toBe(100);
    expect(after.closed - before.closed).toBe(10);
    await guarded.roundTrip();
  });

  it("a Type outside the login flow before login is refused with LOGIN_REQUIRED", async () => {
    const sessionPromise = guarded.t.nextSession();
    const device = await guarded.t.connect({ cert: pki.device2.cert, key: pki.device2.key });
    device.send(AckDef, { orderId: "order-1", state: 2 });
    const reason = await guarded.t.offlineReason(await sessionPromise);
    expect(reason.code).toBe("LOGIN_REQUIRED");
    expect(reason.frameType).toBe(AckDef.type);
    expect(ErrorMsgDef.codec.decode((await device.nextFrame(ErrorMsgDef.type)).payload).msg).toMatch(
      /^LOGIN_REQUIRED/,
    );
    await device.closed;
    await guarded.roundTrip();
  });

  it("a frame over preLogin.maxFrame before login is refused from its header, naming peer and frame", async () => {
    const sessionPromise = guarded.t.nextSession();
    const device = await guarded.t.connect({ cert: pki.device2.cert, key: pki.device2.key });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(65_536, 0);
    header[4] = LoginReqDef.type;
    device.write(header);
    const reason = await guarded.t.offlineReason(await sessionPromise);
    expect(reason.code).toBe("FRAME_TOO_LARGE");
    expect(reason.message).toMatch(
      /exceeds preLogin\.maxFrame 4096 \(peer 127\.0\.0\.1:\d+, frame type 0x02\)/,
    );
    await device.closed;
    await guarded.roundTrip();
  });

  it(
    "400 peers holding the header of a 64 KiB frame cost what idle TLS peers cost; by default they are refused",
    async () => {
      expectHeaderOnlyCheap(await measureHeaderOnlyPeers(pki, 400));
    },
    scaled(240_000),
  );

  it("the healthy device stayed online through every attack", async () => {
    await guarded.roundTrip();
    expect(guarded.t.offline.some((o) => o.session.deviceId === HEALTHY_ID)).toBe(false);
  });
});

describe("trust changes (the healthy device is served throughout)", () => {
  const rigWithTwoCas = () =>
    startHostileRig(
      pki,
      { readTimeoutMs: scaled(5_000), handshakeTimeoutMs: scaled(5_000) },
      { tls: twoCaTls(pki) },
    );

  it("a CA dropped by reloadTls: its logged-in devices are closed, their resumed and full handshakes refused", async () => {
    const trust = await rigWithTwoCas();
    const result = await caDropped(trust, pki, 10);
    expect(result.closedWith.map((reason) => reason.code)).toEqual(
      Array(10).fill("PEER_CERTIFICATE_REJECTED"),
    );
    expect(
      result.closedWith.every((reason) => (reason as { rejection?: string }).rejection === "untrusted"),
    ).toBe(true);
    // The tickets of before the reload still resume at the TLS level; the server refuses each.
    expect(result.resumed.tlsResumed).toBe(10);
    expect(result.resumed.refusals).toHaveLength(10);
    expect(result.resumed.refusals.every((error) => error.rejection === "untrusted")).toBe(true);
    expect(result.full.refusals).toHaveLength(10);
    expect(result.onlineAfterReload).toBe(0);
    expect(result.healthyRoundTrips).toBeGreaterThan(0);
    await trust.roundTrip();
    expect(trust.t.offline.some((o) => o.session.deviceId === HEALTHY_ID)).toBe(false);
  });

  it("certificates revoked by a reloaded CRL: their devices are closed, their resumed and full handshakes refused", async () => {
    const trust = await rigWithTwoCas();
    const result = await fleetRevoked(trust, pki, 10);
    expect(result.closedWith.map((reason) => reason.code)).toEqual(
      Array(10).fill("PEER_CERTIFICATE_REJECTED"),
    );
    expect(
      result.closedWith.every((reason) => (reason as { rejection?: string }).rejection === "revoked"),
    ).toBe(true);
    expect(result.resumed.tlsResumed).toBe(10);
    expect(result.resumed.refusals).toHaveLength(10);
    expect(result.resumed.refusals.every((error) => error.rejection === "revoked")).toBe(true);
    expect(result.full.refusals).toHaveLength(10);
    expect(result.full.refusals.every((error) => error.rejection === "revoked")).toBe(true);
    expect(result.onlineAfterReload).toBe(0);
    expect(trust.t.server.stats().tls.rejections.revoked).toBeGreaterThanOrEqual(30);
    await trust.roundTrip();
    expect(trust.t.offline.some((o) => o.session.deviceId === HEALTHY_ID)).toBe(false);
  });
});
