/**
 * Trust changes under a {@link HostileRig} whose server trusts two CAs (`pki.ca`, the healthy
 * device's, and `pki.otherCa`): a fleet of logged-in devices holding TLS tickets loses its trust —
 * its CA dropped by `reloadTls({ ca })`, or its certificates revoked by `reloadTls({ crl })` — and
 * every one is closed, then refused when it comes back, by a resumed handshake with the ticket it
 * was given before the reload as well as by a full one. Shared by the short
 * (test/stress-short/hostile-peers.test.ts) and full (test/stress/hostile-flood.test.ts) suites;
 * each returns what the server did, the assertions are the caller's.
 */
import type { PaynetError, PeerCertificateRejectedError } from "../../../runtime/src/errors.js";
import type { ServerTlsOptions, Session } from "../../../runtime/src/server/types.js";
import { issueCrl } from "../../../src/certs/index.js";
import { LoginReqDef, LoginRspDef } from "../../helpers/messages.js";
import type { IssuedCert, TestPki } from "../../helpers/pki.js";
import type { RawDevice } from "../../helpers/raw-device.js";
import { scaled } from "../../helpers/time.js";
import type { HostileRig } from "./hostile.js";

/** The TLS options of a rig for trust changes: mTLS trusting `pki.ca` and `pki.otherCa`. */
export function twoCaTls(pki: TestPki): ServerTlsOptions {
  return {
    cert: pki.server.cert,
    key: pki.server.key,
    ca: [pki.ca.cert, pki.otherCa.cert],
    crl: pki.crl,
    requireClientCert: true,
  };
}

export interface TrustChangeResult {
  /** Offline reason of every session of the fleet after the reload. */
  closedWith: PaynetError[];
  /** The resumed comebacks (each with the ticket it got before the reload). */
  resumed: Comebacks;
  /** The full-handshake comebacks. */
  full: Comebacks;
  /** Sessions of the fleet's devices that went online after the reload (must be none). */
  onlineAfterReload: number;
  /** Healthy ping/pong round trips done while the fleet was closed and came back. */
  healthyRoundTrips: number;
}

/** One reconnection of every device of the fleet after the reload. */
export interface Comebacks {
  /** Connections TLS resumed (their ticket was still valid for TLS). */
  tlsResumed: number;
  /** The server's refusals (`PEER_CERTIFICATE_REJECTED`) during the comebacks. */
  refusals: PeerCertificateRejectedError[];
}

/**
 * `count` devices issued by `pki.otherCa` log in and take a ticket; `otherCa` is dropped from the
 * trusted CAs (the healthy device's CA stays).
 */
export async function caDropped(rig: HostileRig, pki: TestPki, count: number): Promise<TrustChangeResult> {
  const certs = await issueFleet(count, (i) => pki.issueDevice(`ca-drop-${i}`, { ca: pki.otherCa }));
  return trustChange(rig, certs, "ca-drop-", () => rig.t.server.reloadTls({ ca: pki.ca.cert }));
}

/** `count` devices issued by `pki.ca` log in and take a ticket; a new CRL revokes them all. */
export async function fleetRevoked(rig: HostileRig, pki: TestPki, count: number): Promise<TrustChangeResult> {
  const certs = await issueFleet(count, (i) => pki.issueDevice(`revoked-${i}`));
  const crl = await issueCrl(pki.ca, [
    { serialNumber: pki.revokedDevice.serialNumber },
    ...certs.map((cert) => ({ serialNumber: cert.serialNumber })),
  ]);
  return trustChange(rig, certs, "revoked-", () => rig.t.server.reloadTls({ crl }));
}

async function issueFleet(count: number, issue: (index: number) => Promise<IssuedCert>) {
  const certs: IssuedCert[] = [];
  for (let i = 0; i < count; i += 50) {
    const wave = Array.from({ length: Math.min(50, count - i) }, (_, k) => issue(i + k));
    certs.push(...(await Promise.all(wave)));
  }
  return certs;
}

interface FleetDevice {
  readonly cert: IssuedCert;
  readonly session: Session;
  readonly device: RawDevice;
  readonly ticket: Buffer;
}

async function trustChange(
  rig: HostileRig,
  certs: readonly IssuedCert[],
  prefix: string,
  reload: () => void,
): Promise<TrustChangeResult> {
  const fleet: FleetDevice[] = [];
  for (let i = 0; i < certs.length; i += 25) {
    const wave = certs.slice(i, i + 25).map(async (cert, k): Promise<FleetDevice> => {
      const sessionPromise = rig.t.nextSession(30_000);
      const device = await rig.t.connect({ cert: cert.cert, key: cert.key, timeoutMs: 30_000 });
      const session = await sessionPromise;
      // Under mTLS a device logs in as the device its certificate names.
      device.send(LoginReqDef, { deviceId: `${prefix}${i + k}`, token: "t" });
      await device.next(LoginRspDef, 30_000);
      const ticket = await device.waitForTicket(30_000);
      return { cert, device, session, ticket };
    });
    fleet.push(...(await Promise.all(wave)));
  }
  if (fleet.some(({ session }) => !session.online)) throw new Error("a device of the fleet is not online");
  let onlineAfterReload = 0;
  const countOnline = (session: Session) => {
    if (session.deviceId?.startsWith(prefix)) onlineAfterReload++;
  };
  let healthyRoundTrips = 0;
  let done = false;
  const healthy = (async () => {
    while (!done) {
      await rig.roundTrip();
      healthyRoundTrips++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    reload();
    rig.t.server.on("online", countOnline);
    const closedWith = await Promise.all(fleet.map(({ session }) => rig.t.offlineReason(session, 60_000)));
    await Promise.all(fleet.map(({ device }) => device.closed));
    const resumed = await comebacks(rig, fleet, (entry) => entry.ticket);
    const full = await comebacks(rig, fleet, () => undefined);
    return { closedWith, resumed, full, onlineAfterReload, healthyRoundTrips };
  } finally {
    done = true;
    await healthy;
    rig.t.server.off("online", countOnline);
  }
}

/**
 * Every device of `fleet` connects again (with the ticket `ticketOf` gives, if any); resolves once
 * the server refused as many connections as there are devices (or the safety net ran out).
 */
async function comebacks(
  rig: HostileRig,
  fleet: readonly FleetDevice[],
  ticketOf: (entry: FleetDevice) => Buffer | undefined,
): Promise<Comebacks> {
  const from = rig.t.errors.length;
  const refusals = () =>
    rig.t.errors
      .slice(from)
      .map((e) => e.error)
      .filter((error): error is PeerCertificateRejectedError => error.code === "PEER_CERTIFICATE_REJECTED");
  let tlsResumed = 0;
  for (let i = 0; i < fleet.length; i += 25) {
    const wave = fleet.slice(i, i + 25).map(async (entry) => {
      const ticket = ticketOf(entry);
      const device = await rig.t
        .connect({
          cert: entry.cert.cert,
          key: entry.cert.key,
          timeoutMs: 30_000,
          ...(ticket === undefined ? {} : { session: ticket }),
        })
        .catch(() => undefined);
      if (device?.resumed === true) tlsResumed++;
      await device?.closed;
    });
    await Promise.all(wave);
  }
  const deadline = Date.now() + scaled(30_000);
  while (refusals().length < fleet.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { tlsResumed, refusals: refusals() };
}
