/**
 * The device client warns about its own certificate (`tls.cert`) when it expires within 30 days:
 * at start, then again at a login a day or more later (a device runs for months), never once per
 * reconnect. Real mTLS on 127.0.0.1 with certificates made here.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeClient, nextEvent, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import { recordingLogger } from "../helpers/test-server.js";

const pki = await setUpClientTests();
const DAY_MS = 86_400_000;
const mtls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true };

afterEach(() => {
  vi.useRealTimers();
});

const warnings = (logger: ReturnType<typeof recordingLogger>) =>
  logger.lines.filter((line) => line.level === "warn" && line.message === "device certificate expires soon");

describe("the device's own certificate expiry", () => {
  it("is warned about at start and at a login a day later, not at every reconnect", async () => {
    const expiring = await pki.issueDevice("device-001", { validDays: 5 });
    const t = await startLoginServer(pki, { server: { tls: mtls } });
    const logger = recordingLogger();
    const client = makeClient(pki, t.port, {
      tls: { ca: pki.ca.cert, servername: "localhost", cert: expiring.cert, key: expiring.key },
      logger,
    });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const online = nextEvent(client, "online");
    client.start();
    await online;
    expect(warnings(logger)).toHaveLength(1);
    expect(warnings(logger)[0]!.fields).toMatchObject({
      subject: expect.stringContaining("CN=device-001"),
      daysLeft: expect.any(Number),
    });
    expect(warnings(logger)[0]!.fields?.daysLeft).toBeLessThanOrEqual(5);

    // A reconnect the same day: nothing new.
    const again = nextEvent(client, "online");
    for (const session of t.server.sessions()) session.close("test: drop");
    await again;
    expect(warnings(logger)).toHaveLength(1);

    // Two days later (the device never restarted), the next login warns again, with fewer days left.
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const later = nextEvent(client, "online");
    for (const session of t.server.sessions()) session.close("test: drop");
    await later;
    expect(warnings(logger)).toHaveLength(2);
    expect(warnings(logger)[1]!.fields?.daysLeft).toBeLessThan(
      warnings(logger)[0]!.fields?.daysLeft as number,
    );
  });

  it("says nothing about a certificate valid for longer, or without one", async () => {
    const t = await startLoginServer(pki, { server: { tls: mtls } });
    const logger = recordingLogger();
    const client = makeClient(pki, t.port, {
      tls: { ca: pki.ca.cert, servername: "localhost", cert: pki.device.cert, key: pki.device.key },
      logger,
    });
    const online = nextEvent(client, "online");
    client.start();
    await online;
    const plain = await startLoginServer(pki);
    const noCertLogger = recordingLogger();
    const noCert = makeClient(pki, plain.port, { logger: noCertLogger });
    const noCertOnline = nextEvent(noCert, "online");
    noCert.start();
    await noCertOnline;
    expect(warnings(logger)).toEqual([]);
    expect(warnings(noCertLogger)).toEqual([]);
  });
});
