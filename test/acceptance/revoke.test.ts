/**
 * Certificate revocation end to end: two devices online against `paynetd --mtls`, each with its own
 * certificate from `paynet-gen certs device`; `paynet-gen certs revoke` one, SIGHUP paynetd → the
 * revoked device is disconnected at once and refused on every reconnect (resumed TLS sessions
 * included), the other stays online.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scaled } from "../helpers/time.js";
import { Harness, LINE_TIMEOUT_MS, literal } from "./support/harness.js";

const harness = new Harness();
afterAll(() => harness.cleanup());

const bin = fileURLToPath(new URL("../../bin/run.js", import.meta.url));

/** Runs the built CLI; rejects with its output when it fails. */
function paynetGen(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, OCLIF_COLUMNS: "1000", NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else reject(new Error(`paynet-gen ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      },
    );
  });
}

/** The serial number `certs device` printed for the certificate it wrote. */
function serialOf(output: string): string {
  const serial = /serial ([0-9A-F]+)/.exec(output)?.[1];
  if (serial === undefined) throw new Error(`no serial in: ${output}`);
  return serial;
}

describe("certs revoke + SIGHUP on a running paynetd --mtls", () => {
  it("disconnects the revoked device, refuses its reconnects and keeps the other online", {
    timeout: scaled(120_000),
  }, async () => {
    const certs = await harness.certs();
    const serialA = serialOf(await paynetGen("certs", "device", "SN-REVOKED", "--out", certs));
    serialOf(await paynetGen("certs", "device", "SN-KEPT", "--out", certs));

    const server = await harness.paynetd([
      "--listen",
      "127.0.0.1:0",
      "--certs",
      certs,
      "--mtls",
      "--command-coins",
      "0",
    ]);
    const device = (sn: string, extra: readonly string[] = []) =>
      harness.paynetcli(
        [
          "--connect",
          `127.0.0.1:${server.port}`,
          "--certs",
          certs,
          "--cert",
          join(certs, `${sn}.crt`),
          "--key",
          join(certs, `${sn}.key`),
          "--sn",
          sn,
          "--backoff-initial",
          "0.2",
          "--backoff-max",
          "0.5",
          ...extra,
        ],
        sn,
      );
    const revoked = device("SN-REVOKED");
    const kept = device("SN-KEPT", ["--heartbeat", "0.3"]);
    await revoked.waitForLine(/online \(.*\) as dev-SN-REVOKED/, LINE_TIMEOUT_MS);
    await kept.waitForLine(/online \(.*\) as dev-SN-KEPT/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(/online dev-SN-REVOKED/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(/online dev-SN-KEPT/, LINE_TIMEOUT_MS);

    const revokeOutput = await paynetGen("certs", "revoke", "SN-REVOKED", "--out", certs);
    expect(revokeOutput).toContain(`CN="SN-REVOKED", serial ${serialA}`);
    expect(revokeOutput).toContain("(1 revoked,");

    const serverFrom = server.process.lines.length;
    const revokedFrom = revoked.lines.length;
    process.kill(server.process.pid!, "SIGHUP");
    await server.process.waitForLine(/reloaded TLS material \(1 revoked\)/, LINE_TIMEOUT_MS, serverFrom);
    const revokedSerial = literal(`certificate revoked (serial ${serialA})`);
    await server.process.waitForLine(
      new RegExp(`disconnecting dev-SN-REVOKED: PEER_CERTIFICATE_REJECTED ${revokedSerial}`),
      LINE_TIMEOUT_MS,
      serverFrom,
    );
    await server.process.waitForLine(/offline dev-SN-REVOKED: PEER_CERTIFICATE_REJECTED/, LINE_TIMEOUT_MS);

    // The device comes back by itself and is refused, twice in a row, while its peer keeps pinging.
    const refusal = new RegExp(
      `TLS refused 127\\.0\\.0\\.1:\\d+: PEER_CERTIFICATE_REJECTED ${revokedSerial}`,
    );
    const firstRefusal = await server.process.waitForLine(refusal, LINE_TIMEOUT_MS, serverFrom);
    await server.process.waitForLine(refusal, LINE_TIMEOUT_MS, firstRefusal.index + 1);
    // The device resumes its TLS session (no certificate exchange) and is refused all the same.
    await revoked.waitForLine(/TLS connected \(resumed/, LINE_TIMEOUT_MS, revokedFrom);
    await revoked.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS, revokedFrom);
    const keptPings = server.process.count(/<- Ping dev-SN-KEPT/);
    await server.process.waitForLine(/<- Ping dev-SN-KEPT/, LINE_TIMEOUT_MS, server.process.lines.length);
    expect(server.process.count(/<- Ping dev-SN-KEPT/)).toBeGreaterThan(keptPings);

    expect(revoked.find(/online \(/, revokedFrom)).toBeUndefined();
    expect(server.process.find(/online dev-SN-REVOKED/, serverFrom)).toBeUndefined();
    expect(server.process.find(/offline dev-SN-KEPT/)).toBeUndefined();
    expect(server.process.find(/disconnecting dev-SN-KEPT/)).toBeUndefined();
    expect(kept.find(/offline:|reconnecting in/)).toBeUndefined();
    expect(server.process.running).toBe(true);
  });

  it("loads ca.crl at start and refuses a revoked device from its first connection", {
    timeout: scaled(120_000),
  }, async () => {
    const certs = await harness.certs();
    const serial = serialOf(await paynetGen("certs", "device", "SN-GONE", "--out", certs));
    await paynetGen("certs", "revoke", serial, "--out", certs, "--reason", "cessationOfOperation");
    const server = await harness.paynetd([
      "--listen",
      "127.0.0.1:0",
      "--certs",
      certs,
      "--mtls",
      "--command-coins",
      "0",
    ]);
    expect(server.process.find(/revocation list .*ca\.crl: 1 revoked/)).toBeDefined();
    const gone = harness.paynetcli(
      [
        "--connect",
        `127.0.0.1:${server.port}`,
        "--certs",
        certs,
        "--cert",
        join(certs, "SN-GONE.crt"),
        "--key",
        join(certs, "SN-GONE.key"),
        "--sn",
        "SN-GONE",
        "--backoff-initial",
        "0.2",
        "--backoff-max",
        "0.5",
      ],
      "SN-GONE",
    );
    await server.process.waitForLine(
      new RegExp(`TLS refused .*${literal(`certificate revoked (serial ${serial})`)}`),
      LINE_TIMEOUT_MS,
    );
    await gone.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS);
    // The device of `certs init` is not on the list and gets in.
    const fine = harness.paynetcli(
      ["--connect", `127.0.0.1:${server.port}`, "--certs", certs, "--sn", "SN-DEMO-001"],
      "SN-DEMO-001",
    );
    await fine.waitForLine(/online \(.*\) as dev-SN-DEMO-001/, LINE_TIMEOUT_MS);
    expect(gone.find(/online \(/)).toBeUndefined();
  });
});
