/**
 * Trust changes end to end against a running `paynetd --mtls`: dropping a CA from `ca.crt` and
 * sending SIGHUP disconnects that CA's devices at once and refuses their reconnects, resumed TLS
 * sessions included, while devices of the CA kept stay online; `--tls-min-version 1.2` is the
 * explicit opt-in for device TLS stacks without TLS 1.3.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:tls";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parsePaynetcliArgs } from "../../examples/paynetcli/options.js";
import { parsePaynetdArgs } from "../../examples/paynetd/options.js";
import { scaled } from "../helpers/time.js";
import { Harness, LINE_TIMEOUT_MS, literal, paynetcliArgs, paynetdArgs } from "./support/harness.js";

const harness = new Harness();
afterAll(() => harness.cleanup());

const bin = fileURLToPath(new URL("../../bin/run.js", import.meta.url));

/** Runs the built CLI; rejects with its output when it fails. */
function paynetGen(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else reject(new Error(`paynet-gen ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      },
    );
  });
}

describe("dropping a CA from ca.crt + SIGHUP on a running paynetd --mtls", () => {
  it("disconnects and refuses its devices (resumed sessions too) and keeps the other CA's devices", {
    timeout: scaled(120_000),
  }, async () => {
    const certs = await harness.certs();
    const newCerts = await harness.certs({ caCn: "paynet CA 2" });
    await paynetGen("certs", "device", "SN-OLD", "--out", certs);
    await paynetGen("certs", "device", "SN-NEW", "--out", newCerts);
    const oldCa = await readFile(join(certs, "ca.crt"), "utf8");
    const newCa = await readFile(join(newCerts, "ca.crt"), "utf8");
    // Rotation step 1: the server trusts both CAs while devices move to the new one.
    await writeFile(join(certs, "ca.crt"), `${oldCa.trimEnd()}\n${newCa}`);

    const server = await harness.paynetd(paynetdArgs({ certs }));
    const device = (sn: string, dir: string, extra: readonly string[] = []) =>
      harness.paynetcli(
        paynetcliArgs({
          port: server.port,
          certs,
          sn,
          extra: ["--cert", join(dir, `${sn}.crt`), "--key", join(dir, `${sn}.key`), ...extra],
        }),
        sn,
      );
    const old = device("SN-OLD", certs);
    const kept = device("SN-NEW", newCerts, ["--heartbeat", "0.3"]);
    await old.waitForLine(/online \(.*\) as dev-SN-OLD/, LINE_TIMEOUT_MS);
    await kept.waitForLine(/online \(.*\) as dev-SN-NEW/, LINE_TIMEOUT_MS);

    // Rotation step 2: the old CA is dropped.
    await writeFile(join(certs, "ca.crt"), newCa);
    const serverFrom = server.process.lines.length;
    const oldFrom = old.lines.length;
    process.kill(server.process.pid!, "SIGHUP");
    await server.process.waitForLine(/reloaded TLS material/, LINE_TIMEOUT_MS, serverFrom);
    await server.process.waitForLine(
      new RegExp(
        `disconnecting dev-SN-OLD: PEER_CERTIFICATE_REJECTED ${literal("certificate chain does not verify: root CN=paynet CA is not in tls.ca")}`,
      ),
      LINE_TIMEOUT_MS,
      serverFrom,
    );

    // It comes back with its TLS ticket and is refused; then, ticket dropped, with a full handshake.
    const resumed = await old.waitForLine(/TLS connected \(resumed TLS session\)/, LINE_TIMEOUT_MS, oldFrom);
    await server.process.waitForLine(
      new RegExp(
        `TLS refused 127\\.0\\.0\\.1:\\d+: PEER_CERTIFICATE_REJECTED ${literal("certificate chain does not verify: issuer CN=paynet CA of CN=SN-OLD is not in tls.ca")}`,
      ),
      LINE_TIMEOUT_MS,
      serverFrom,
    );
    await old.waitForLine(/TLS connected \(full TLS handshake\)/, LINE_TIMEOUT_MS, resumed.index + 1);
    await server.process.waitForLine(
      /TLS refused 127\.0\.0\.1:\d+: PEER_CERTIFICATE_REJECTED certificate verification failed: /,
      LINE_TIMEOUT_MS,
      serverFrom,
    );

    const pings = server.process.count(/<- Ping dev-SN-NEW/);
    await server.process.waitForLine(/<- Ping dev-SN-NEW/, LINE_TIMEOUT_MS, server.process.lines.length);
    expect(server.process.count(/<- Ping dev-SN-NEW/)).toBeGreaterThan(pings);
    expect(old.find(/online \(/, oldFrom)).toBeUndefined();
    expect(kept.find(/offline:|reconnecting in/)).toBeUndefined();
    expect(server.process.find(/disconnecting dev-SN-NEW/)).toBeUndefined();
  });
});

describe("--tls-min-version", () => {
  /** A device whose TLS stack stops at 1.2 (mbedTLS 2.x): resolves with the protocol it got. */
  function tls12Device(port: number, pem: { ca: string; cert: string; key: string }): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        maxVersion: "TLSv1.2",
        ...pem,
      });
      socket.once("secureConnect", () => {
        resolve(socket.getProtocol() ?? "?");
        socket.end();
      });
      socket.once("error", reject);
    });
  }

  it("refuses TLS 1.2 by default and lets a TLS 1.2 device in with --tls-min-version 1.2", {
    timeout: scaled(60_000),
  }, async () => {
    const certs = await harness.certs();
    const [ca, cert, key] = await Promise.all(
      ["ca.crt", "device.crt", "device.key"].map((name) => readFile(join(certs, name), "utf8")),
    );
    const pem = { ca: ca!, cert: cert!, key: key! };
    const strict = await harness.paynetd(paynetdArgs({ certs }), "paynetd-1.3");
    await expect(tls12Device(strict.port, pem)).rejects.toThrow(/protocol version|alert/i);
    await strict.process.waitForLine(/TLS refused .*HANDSHAKE_FAILED unsupported protocol/, LINE_TIMEOUT_MS);

    const legacy = await harness.paynetd(
      [...paynetdArgs({ certs }), "--tls-min-version", "1.2"],
      "paynetd-1.2",
    );
    expect(legacy.process.find(/TLS 1\.2 accepted \(--tls-min-version 1\.2\)/)).toBeDefined();
    expect(await tls12Device(legacy.port, pem)).toBe("TLSv1.2");
    await legacy.process.waitForLine(
      /connection from 127\.0\.0\.1:\d+ \(full TLS handshake, device certificate CN=/,
      LINE_TIMEOUT_MS,
    );
  });

  it("accepts 1.2 and 1.3 only, on paynetd and paynetcli", () => {
    const base = ["--listen", "127.0.0.1:0", "--certs", "certs"];
    expect(parsePaynetdArgs([...base, "--tls-min-version", "1.2"])).toMatchObject({
      tlsMinVersion: "TLSv1.2",
    });
    expect(parsePaynetdArgs(base)).toMatchObject({ tlsMinVersion: "TLSv1.3", staleCrl: "warn" });
    expect(() => parsePaynetdArgs([...base, "--tls-min-version", "TLSv1.1"])).toThrow(
      '--tls-min-version: expected 1.3 (the default) or 1.2 (devices without TLS 1.3), got "TLSv1.1"',
    );
    expect(parsePaynetdArgs([...base, "--stale-crl", "fail"])).toMatchObject({ staleCrl: "fail" });
    expect(() => parsePaynetdArgs([...base, "--stale-crl", "off"])).toThrow(
      '--stale-crl: expected warn or fail, got "off"',
    );
    const cli = ["--connect", "127.0.0.1:1", "--certs", "certs", "--sn", "SN-1"];
    expect(parsePaynetcliArgs([...cli, "--tls-min-version", "1.2"])).toMatchObject({
      tlsMinVersion: "TLSv1.2",
    });
    expect(() => parsePaynetcliArgs([...cli, "--tls-min-version", "1.0"])).toThrow(
      /--tls-min-version: expected/,
    );
  });
});
