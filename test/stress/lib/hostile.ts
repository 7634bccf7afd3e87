import type { ServerOptions } from "../../../runtime/src/server/types.js";
import { LoginReqDef, LoginRspDef, loginPingAckRegistry, PingDef, PongDef } from "../../helpers/messages.js";
import type { TestPki } from "../../helpers/pki.js";
import type { RawDevice } from "../../helpers/raw-device.js";
import { startTestServer, type TestServer, testErrorMessage } from "../../helpers/test-server.js";

// The CN of `pki.device`, the certificate it connects with: under mTLS a device logs in as the
// device its certificate names.
export const HEALTHY_ID = "device-001";

export interface HostileRig {
  readonly t: TestServer;
  readonly healthy: RawDevice;
  /** One ping → pong round trip on the healthy device; rejects when it is not served. */
  roundTrip(): Promise<void>;
}

/** A live mTLS server with a healthy, logged-in, heartbeating device; `options` override the server's. */
export async function startHostileRig(
  pki: TestPki,
  timeouts: { readTimeoutMs: number; handshakeTimeoutMs: number },
  options: Partial<ServerOptions> = {},
): Promise<HostileRig> {
  const registry = loginPingAckRegistry();
  const t = await startTestServer(pki, {
    tls: {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      crl: pki.crl,
      requireClientCert: true,
    },
    registry,
    errorMessage: testErrorMessage,
    readTimeoutMs: timeouts.readTimeoutMs,
    handshakeTimeoutMs: timeouts.handshakeTimeoutMs,
    outboundQueue: { maxFrames: 64, maxBytes: 256 * 1024 },
    ...options,
  });
  const healthy = await t.connect({ cert: pki.device.cert, key: pki.device.key });
  // Take the healthy session out of the helper's queue, so `nextSession()` yields attackers only.
  await t.nextSession();
  healthy.send(LoginReqDef, { deviceId: HEALTHY_ID, token: "t" });
  await healthy.next(LoginRspDef);
  // The healthy device heartbeats well within the read timeout, like a real one.
  const beat = setInterval(
    () => {
      if (!healthy.isClosed) healthy.send(PingDef, { timestamp: 1 });
    },
    Math.max(10, Math.floor(timeouts.readTimeoutMs / 4)),
  );
  void healthy.closed.then(() => clearInterval(beat));
  return {
    t,
    healthy,
    roundTrip: async () => {
      const stamp = Date.now() + Math.random();
      healthy.send(PingDef, { timestamp: Math.floor(stamp) });
      await healthy.next(PongDef, 10_000);
    },
  };
}
