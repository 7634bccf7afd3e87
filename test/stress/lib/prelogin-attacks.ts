/**
 * Attacks of peers that do not log in, or flood bad frames after logging in, against a
 * {@link HostileRig}; shared by the short (test/stress-short/hostile-peers.test.ts) and full
 * (test/stress/hostile-flood.test.ts) hostile-peer suites. Each returns what the server did; the
 * assertions are the caller's.
 */

import type { PaynetError } from "../../../runtime/src/errors.js";
import { encodeFrame } from "../../../runtime/src/frame/encoder.js";
import type { Session } from "../../../runtime/src/server/types.js";
import { LoginReqDef, LoginRspDef, PingDef } from "../../helpers/messages.js";
import type { TestPki } from "../../helpers/pki.js";
import type { RawDevice } from "../../helpers/raw-device.js";
import type { HostileRig } from "./hostile.js";

export interface AttackResult {
  /** Offline reason code of every attacking session. */
  reasons: string[];
  /** Warn/error log lines of the attacking sessions (by their `conn`), most per session. */
  warnLines: number;
  maxWarnLinesPerSession: number;
  /** Pongs the pinging peers got before they were closed. */
  pongs: number;
  /** Healthy ping/pong round trips done while the attack ran. */
  healthyRoundTrips: number;
}

/**
 * `count` peers connect (mTLS, with `pki.device2` unless `credentials` gives each its own
 * certificate) and `open(device)` starts the attack; resolves when all are closed.
 */
async function attack(
  rig: HostileRig,
  pki: TestPki,
  count: number,
  open: (device: RawDevice, index: number) => void,
  credentials: (index: number) => Promise<{ cert: string; key: string }> = async () => pki.device2,
): Promise<AttackResult> {
  const sessions: Session[] = [];
  const devices: RawDevice[] = [];
  for (let i = 0; i < count; i += 25) {
    const wave = Array.from({ length: Math.min(25, count - i) }, async (_, k) => {
      const { cert, key } = await credentials(i + k);
      const sessionPromise = rig.t.nextSession(30_000);
      const device = await rig.t.connect({ cert, key, timeoutMs: 30_000 });
      devices.push(device);
      open(device, i + k);
      return sessionPromise;
    });
    sessions.push(...(await Promise.all(wave)));
  }
  let healthyRoundTrips = 0;
  const closed = Promise.all(sessions.map((session) => rig.t.offlineReason(session, 120_000)));
  let done = false;
  const reasonsPromise = closed.finally(() => {
    done = true;
  });
  while (!done) {
    await rig.roundTrip();
    healthyRoundTrips++;
    await Promise.race([reasonsPromise, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  const reasons: PaynetError[] = await reasonsPromise;
  await Promise.all(devices.map((device) => device.closed));
  const ids = new Set(sessions.map((session) => session.id));
  const perSession = new Map<unknown, number>();
  for (const line of rig.t.logger.lines) {
    if ((line.level === "warn" || line.level === "error") && ids.has(line.fields?.conn as string)) {
      perSession.set(line.fields?.conn, (perSession.get(line.fields?.conn) ?? 0) + 1);
    }
  }
  const counts = [...perSession.values()];
  return {
    reasons: reasons.map((reason) => reason.code),
    warnLines: counts.reduce((sum, n) => sum + n, 0),
    maxWarnLinesPerSession: Math.max(0, ...counts),
    pongs: devices.reduce((sum, device) => sum + device.pending.filter((f) => f.type === 0x83).length, 0),
    healthyRoundTrips,
  };
}

/** Peers that Ping every `intervalMs` and never log in (the rig's `preLogin.deadlineMs` must close them). */
export function pingingWithoutLogin(rig: HostileRig, pki: TestPki, count: number, intervalMs: number) {
  const timers: NodeJS.Timeout[] = [];
  return attack(rig, pki, count, (device) => {
    const timer = setInterval(() => {
      if (!device.isClosed) device.send(PingDef, { timestamp: Date.now() });
    }, intervalMs);
    timers.push(timer);
    void device.closed.then(() => clearInterval(timer));
  }).finally(() => {
    for (const timer of timers) clearInterval(timer);
  });
}

/**
 * Peers that log in (as `flood-<i>`, each with a certificate naming that device, as the server
 * binds logins to certificates), then write `frames` frames of unregistered Types in one go.
 */
export function unknownTypeFlood(rig: HostileRig, pki: TestPki, count: number, frames: number) {
  const flood = Buffer.concat(
    Array.from({ length: frames }, (_, i) => encodeFrame(0x40 + (i % 32), Buffer.from([i & 0xff, 1, 2]))),
  );
  return attack(
    rig,
    pki,
    count,
    (device, index) => {
      device.send(LoginReqDef, { deviceId: `flood-${index}`, token: "t" });
      void device.next(LoginRspDef, 30_000).then(
        () => device.write(flood),
        () => {},
      );
    },
    (index) => pki.issueDevice(`flood-${index}`),
  );
}
