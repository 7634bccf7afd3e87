/**
 * Acceptance §7.3 (heartbeat): a device that sends nothing within the server's read timeout is
 * disconnected, and reconnects by itself; a device that pings in time stays connected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, LINE_TIMEOUT_MS } from "./support/harness.js";

const harness = new Harness();
let certs: string;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-LIVELY", "SN-SILENT"] });
});

afterAll(() => harness.cleanup());

describe("heartbeat and read timeout", () => {
  it("drops a silent device after the read timeout; it reconnects by itself", async () => {
    const server = await harness.paynetd([
      "--listen",
      "127.0.0.1:0",
      "--certs",
      certs,
      "--read-timeout",
      "2",
      "--command-coins",
      "0",
    ]);
    const connect = [
      "--connect",
      `127.0.0.1:${server.port}`,
      "--certs",
      certs,
      "--backoff-initial",
      "0.2",
      "--backoff-max",
      "0.5",
    ];
    // Pings ten times per read timeout: must stay connected.
    const lively = harness.paynetcli(
      [...connect, "--sn", "SN-LIVELY", "--heartbeat", "0.2"],
      "paynetcli-lively",
    );
    await lively.waitForLine(/online \(.*\) as dev-SN-LIVELY/, LINE_TIMEOUT_MS);
    // Would ping only after 30 s: the server's 2 s read timeout comes first.
    const silent = harness.paynetcli(
      [...connect, "--sn", "SN-SILENT", "--heartbeat", "30"],
      "paynetcli-silent",
    );
    const online = await silent.waitForLine(/online \(.*\) as dev-SN-SILENT/, LINE_TIMEOUT_MS);

    await server.process.waitForLine(/offline dev-SN-SILENT: READ_TIMEOUT/, LINE_TIMEOUT_MS);
    const offline = await silent.waitForLine(/offline: /, LINE_TIMEOUT_MS, online.index + 1);
    await silent.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS, offline.index + 1);
    await silent.waitForLine(/online \(.*\) as dev-SN-SILENT/, LINE_TIMEOUT_MS, offline.index + 1);
    expect(silent.find(/-> Ping/)).toBeUndefined();

    expect(lively.count(/<- Pong/)).toBeGreaterThan(0);
    expect(lively.count(/offline: /)).toBe(0);
    expect(server.process.find(/offline dev-SN-LIVELY/)).toBeUndefined();
  });
});
