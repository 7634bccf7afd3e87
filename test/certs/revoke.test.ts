/**
 * `revokeCertificate` (behind `paynet-gen certs revoke`): the CRL it writes is checked with the
 * X.509 library, Node's `X509Certificate` and a real TLS server (OpenSSL) that uses it; the built CLI
 * is run for its output and exit codes.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CertFilesError } from "../../src/certs/errors.js";
import { initCerts, issueDeviceFiles, type WrittenCert } from "../../src/certs/files.js";
import { issueCa, issueCrl } from "../../src/certs/issue.js";
import { CRL_FILE, revokeCertificate } from "../../src/certs/revoke.js";
import { x509 } from "../../src/certs/x509.js";
import { scaled } from "../helpers/time.js";
import { mtlsHandshake } from "./tls-harness.js";

let root: string;
let out: string;
let init: WrittenCert[];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "paynet-revoke-"));
  out = join(root, "certs");
  init = await initCerts({ out });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const DAY_MS = 86_400_000;
const read = (name: string) => readFile(join(out, name), "utf8");
const mode = async (name: string) => (await stat(join(out, name))).mode & 0o777;
const written = (role: WrittenCert["role"]) => init.find((cert) => cert.role === role)!;

/** The written CRL, parsed; its signature is checked against ca.crt. */
async function readCrl(): Promise<x509.X509Crl> {
  const pem = await read(CRL_FILE);
  expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
  const crl = new x509.X509Crl(x509.PemConverter.decodeFirst(pem));
  expect(await crl.verify({ publicKey: new x509.X509Certificate(await read("ca.crt")) })).toBe(true);
  return crl;
}

const listed = (crl: x509.X509Crl) =>
  crl.entries.map((entry) => [entry.serialNumber.toUpperCase(), entry.reason]);

async function rejection(promise: Promise<unknown>): Promise<CertFilesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CertFilesError);
  return error as CertFilesError;
}

describe("revokeCertificate", () => {
  it("lists a device by name in a new ca.crl (0644) that a TLS server enforces", async () => {
    const sn2 = await issueDeviceFiles({ out, commonName: "SN-0002" });
    const now = new Date("2030-01-02T03:04:05Z");
    const result = await revokeCertificate({ out, target: "SN-0002", reason: "keyCompromise", now });
    expect(result).toMatchObject({
      serialNumber: sn2.serialNumber,
      certPath: join(out, "SN-0002.crt"),
      commonName: "SN-0002",
      role: "device",
      alreadyRevoked: false,
      reason: "keyCompromise",
      crlPath: join(out, CRL_FILE),
      revokedCount: 1,
    });
    expect(result.revokedAt).toEqual(now);
    expect(result.nextUpdate).toEqual(new Date(now.getTime() + 30 * DAY_MS));

    const crl = await readCrl();
    expect(listed(crl)).toEqual([[sn2.serialNumber, x509.X509CrlReason.keyCompromise]]);
    expect(crl.entries[0]!.revocationDate).toEqual(now);
    expect(crl.nextUpdate).toEqual(new Date(now.getTime() + 30 * DAY_MS));
    // Node's view of the certificate names the same serial as the CRL entry.
    expect(new X509Certificate(await read("SN-0002.crt")).serialNumber).toBe(sn2.serialNumber);
    expect(await mode(CRL_FILE)).toBe(0o644);
    expect(await mode("ca.key")).toBe(0o600);
  });

  it("makes OpenSSL refuse the revoked device and accept the others", async () => {
    await issueDeviceFiles({ out, commonName: "SN-0002" });
    await revokeCertificate({ out, target: "SN-0002" });
    const server = {
      cert: await read("server.crt"),
      key: await read("server.key"),
      ca: await read("ca.crt"),
      crl: await read(CRL_FILE),
    };
    const client = async (name: string) => ({
      ca: await read("ca.crt"),
      cert: await read(`${name}.crt`),
      key: await read(`${name}.key`),
      servername: "localhost",
    });
    expect(await mtlsHandshake(server, await client("SN-0002"), { enforce: false })).toEqual({
      ok: false,
      reason: "CERT_REVOKED",
    });
    expect(await mtlsHandshake(server, await client("device"))).toEqual({
      ok: true,
      peerSubjectCN: "SN-DEMO-001",
    });
  });

  it("keeps every earlier entry with its date and reason; a repeat changes nothing but the dates", async () => {
    const a = await issueDeviceFiles({ out, commonName: "SN-A" });
    const b = await issueDeviceFiles({ out, commonName: "SN-B" });
    const first = new Date("2030-01-01T00:00:00Z");
    const second = new Date("2030-01-05T00:00:00Z");
    await revokeCertificate({ out, target: "SN-A", reason: "superseded", now: first });
    const crl1 = await readCrl();
    await revokeCertificate({ out, target: "SN-B", reason: "keyCompromise", now: second });
    const crl2 = await readCrl();
    expect(listed(crl2)).toEqual([
      [a.serialNumber, x509.X509CrlReason.superseded],
      [b.serialNumber, x509.X509CrlReason.keyCompromise],
    ]);
    expect(crl2.entries.map((entry) => entry.revocationDate)).toEqual([first, second]);

    const again = await revokeCertificate({ out, target: "SN-A", reason: "keyCompromise", now: second });
    expect(again).toMatchObject({ alreadyRevoked: true, reason: "superseded", revokedCount: 2 });
    expect(again.revokedAt).toEqual(first);
    const crl3 = await readCrl();
    expect(listed(crl3)).toEqual(listed(crl2));
    // Same clock second as the CRL before: thisUpdate (and the CRL number) still moves forward.
    expect(crl3.thisUpdate.getTime()).toBeGreaterThan(crl2.thisUpdate.getTime());
    expect(crl2.thisUpdate.getTime()).toBeGreaterThan(crl1.thisUpdate.getTime());
  });

  it("finds a certificate by file path, by CN with unsafe characters, and by serial", async () => {
    const lobby = await issueDeviceFiles({ out, commonName: "box 7 (lobby)" });
    expect((await revokeCertificate({ out, target: "box 7 (lobby)" })).certPath).toBe(lobby.certPath);

    const outside = join(root, "elsewhere.crt");
    await copyFile(written("device").certPath, outside);
    const byPath = await revokeCertificate({ out, target: outside });
    expect(byPath).toMatchObject({ certPath: outside, commonName: "SN-DEMO-001", role: "device" });

    const sn = await issueDeviceFiles({ out, commonName: "SN-0003" });
    const colons = sn.serialNumber.toLowerCase().match(/../g)!.join(":");
    const bySerial = await revokeCertificate({ out, target: colons });
    expect(bySerial).toMatchObject({
      serialNumber: sn.serialNumber,
      certPath: join(out, "SN-0003.crt"),
      commonName: "SN-0003",
      role: "device",
    });

    // A serial of a certificate that is gone (lost device): listed all the same.
    const gone = await revokeCertificate({ out, target: "7A0B1C2D3E4F" });
    expect(gone).toMatchObject({ serialNumber: "7A0B1C2D3E4F", certPath: undefined, role: "unknown" });
    expect(listed(await readCrl()).map(([serial]) => serial)).toEqual([
      lobby.serialNumber,
      written("device").serialNumber,
      sn.serialNumber,
      "7A0B1C2D3E4F",
    ]);
  });

  it("refuses the CA and the server certificate without force", async () => {
    for (const target of ["ca", "server", join(out, "server.crt"), written("server").serialNumber]) {
      const error = await rejection(revokeCertificate({ out, target }));
      expect(error.code, target).toBe("CERT_PROTECTED");
      expect(error.message).toMatch(/--force/);
    }
    await expect(stat(join(out, CRL_FILE))).rejects.toThrow(/ENOENT/);
    const server = await revokeCertificate({ out, target: "server", force: true });
    expect(server).toMatchObject({ role: "server", serialNumber: written("server").serialNumber });
    const ca = await revokeCertificate({ out, target: "ca", force: true });
    expect(ca).toMatchObject({ role: "ca", revokedCount: 2 });
  });

  it("names what it looked for when nothing matches", async () => {
    const error = await rejection(revokeCertificate({ out, target: "SN-9999" }));
    expect(error.code).toBe("CERT_NOT_FOUND");
    expect(error.message).toContain(join(out, "SN-9999.crt"));
    expect(error.message).toMatch(/not a hex serial number/);
  });

  it("tells a missing CA, a certificate of another CA and a foreign or broken ca.crl apart", async () => {
    const empty = join(root, "empty");
    const missing = await rejection(revokeCertificate({ out: empty, target: "device" }));
    expect(missing.code).toBe("CA_MISSING");
    expect(missing.message).toMatch(/paynet-gen certs init/);

    const other = join(root, "other");
    await initCerts({ out: other });
    const foreign = await rejection(revokeCertificate({ out, target: join(other, "device.crt") }));
    expect(foreign.code).toBe("CERT_FOREIGN");

    const otherCa = await issueCa({ commonName: "paynet CA" });
    await writeFile(join(out, CRL_FILE), await issueCrl(otherCa, []));
    const wrongSigner = await rejection(revokeCertificate({ out, target: "device" }));
    expect(wrongSigner.code).toBe("CRL_INVALID");
    expect(wrongSigner.message).toMatch(/not signed by the CA/);

    await writeFile(join(out, CRL_FILE), "not a CRL\n");
    const garbage = await rejection(revokeCertificate({ out, target: "device" }));
    expect(garbage.code).toBe("CRL_INVALID");
    // The broken list was left alone for the operator to look at.
    expect(await read(CRL_FILE)).toBe("not a CRL\n");
  });
});

describe("paynet-gen certs revoke (built CLI)", () => {
  const bin = fileURLToPath(new URL("../../bin/run.js", import.meta.url));
  const paynetGen = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, ...args],
        { env: { ...process.env, OCLIF_COLUMNS: "1000", NO_COLOR: "1" } },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });

  it("prints what it revoked and how to apply it; exits 1 with a clear message otherwise", {
    timeout: scaled(60_000),
  }, async () => {
    const sn = await issueDeviceFiles({ out, commonName: "SN-0002" });
    const ok = await paynetGen("certs", "revoke", "SN-0002", "--out", out, "--reason", "keyCompromise");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      `revoked ${join(out, "SN-0002.crt")} (device, CN="SN-0002", serial ${sn.serialNumber}), reason keyCompromise`,
    );
    expect(ok.stdout).toMatch(new RegExp(`wrote ${join(out, CRL_FILE)} \\(1 revoked, next update `));
    expect(ok.stdout).toMatch(/send SIGHUP to paynetd .*reloadTls\(\{ crl \}\)/);

    const server = await paynetGen("certs", "revoke", "server", "--out", out);
    expect(server.code).toBe(1);
    expect(server.stderr).toMatch(/server\.crt is the server certificate; .*Pass --force/);
    const unknown = await paynetGen("certs", "revoke", "SN-9999", "--out", out);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no certificate "SN-9999": looked for /);
    const badReason = await paynetGen("certs", "revoke", "SN-0002", "--out", out, "--reason", "bored");
    expect(badReason.code).toBe(2);
    expect(listed(await readCrl())).toEqual([[sn.serialNumber, x509.X509CrlReason.keyCompromise]]);
  });
});
