/**
 * `paynet-gen certs check` (the built CLI, as a user runs it) on certificates made to expire: one
 * ending in days, one already expired, one revoked by the CA's CRL, and long-lived ones.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCertificates } from "../../src/certs/check.js";
import { initCerts, issueDeviceFiles, readCa } from "../../src/certs/files.js";
import { issueDeviceCert } from "../../src/certs/issue.js";
import { revokeCertificate } from "../../src/certs/revoke.js";
import { DEMO_DEVICE_SN } from "../../src/certs/types.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const DAY_MS = 86_400_000;

function paynetGen(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, "bin", "run.js"), ...args],
      { cwd: repoRoot, env: { ...process.env, OCLIF_COLUMNS: "1000", NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let root: string;
/** ca (10 years), server and device (5 days), SN-OK (400 days), SN-GONE (revoked), expired.crt. */
let mixed: string;
/** A directory where everything is valid for a long time. */
let healthy: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "paynet-certs-check-"));
  mixed = join(root, "mixed");
  await initCerts({ out: mixed, days: 5 });
  await issueDeviceFiles({ out: mixed, commonName: "SN-OK", days: 400 });
  await issueDeviceFiles({ out: mixed, commonName: "SN-GONE", days: 400 });
  await revokeCertificate({ out: mixed, target: "SN-GONE", reason: "keyCompromise" });
  const ca = await readCa(mixed);
  // Valid for two days, ten days ago.
  const expired = await issueDeviceCert(ca, {
    commonName: "SN-OLD",
    validDays: 2,
    notBefore: new Date(Date.now() - 10 * DAY_MS),
  });
  await writeFile(join(mixed, "expired.crt"), expired.cert);
  healthy = join(root, "healthy");
  await initCerts({ out: healthy });
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe("paynet-gen certs check", () => {
  it("lists every certificate with its state and exits 1 when one is expiring or expired", async () => {
    const run = await paynetGen("certs", "check", "--out", mixed);
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^STATE\s+DAYS\s+EXPIRES\s+SUBJECT\s+FILE$/);
    const row = (file: string) => lines.find((line) => line.endsWith(join(mixed, file)));
    expect(row("ca.crt")).toMatch(/^ok\s+36\d\d\s+\S+\s+CN=paynet CA/);
    expect(row("server.crt")).toMatch(/^expiring\s+4\s+\S+\s+CN=paynet\.local/);
    expect(row("device.crt")).toMatch(new RegExp(`^expiring\\s+4\\s+\\S+\\s+CN=${DEMO_DEVICE_SN}\\s`));
    expect(row("SN-OK.crt")).toMatch(/^ok\s+399\s+/);
    expect(row("SN-GONE.crt")).toMatch(/^revoked\s+399\s+\S+\s+CN=SN-GONE/);
    expect(row("expired.crt")).toMatch(/^expired\s+-8\s+\S+\s+CN=SN-OLD/);
    expect(row("ca.crl")).toMatch(/^ok\s+(29|30)\s+\S+\s+CRL, 1 revoked \(next update\)/);
    expect(run.stdout).toContain("2 expiring (within 30 days), 1 expired: renew them");
  });

  it("follows --warn-days, and exits 0 when all is valid long enough", async () => {
    const narrow = await paynetGen("certs", "check", "--out", mixed, "--warn-days", "3");
    // The 5-day certificates are fine for 3 days; the expired one still fails the check.
    expect(narrow.stdout).toMatch(/^ok\s+4\s+.*server\.crt$/m);
    expect(narrow.code).toBe(1);
    const ok = await paynetGen("certs", "check", "--out", healthy);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain("all valid for 30 days or more");
    const json = await paynetGen("certs", "check", "--out", healthy, "--json");
    const report = JSON.parse(json.stdout) as { needsAction: boolean; items: Array<{ state: string }> };
    expect(report.needsAction).toBe(false);
    expect(report.items.map((item) => item.state)).toEqual(["ok", "ok", "ok"]);
  });

  it("exits 2 naming the problem for a directory without certificates", async () => {
    const run = await paynetGen("certs", "check", "--out", join(root, "nowhere"));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read ${join(root, "nowhere")}`);
  });

  it("marks a CRL past its next update expired", async () => {
    const now = new Date(Date.now() + 40 * DAY_MS);
    const report = await checkCertificates({ out: mixed, warnDays: 30, now });
    expect(report.items.find((item) => item.kind === "crl")).toMatchObject({ state: "expired", revoked: 1 });
    expect(report.items.find((item) => item.path.endsWith("SN-GONE.crt"))).toMatchObject({
      state: "revoked",
    });
  });
});
