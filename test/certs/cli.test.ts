/**
 * The built CLI (`npm test` runs `npm run build` first, so dist/ is current): spawned as a user
 * would run it.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repoRoot, "bin", "run.js");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function paynetGen(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      // Wide columns so oclif does not wrap messages we match on.
      { cwd: repoRoot, env: { ...process.env, OCLIF_COLUMNS: "1000", NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("paynet-gen certs (built CLI)", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "paynet-certs-cli-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("init writes the files, prints them and warns about short validity; refuses a second run", async () => {
    const out = join(root, "certs");
    const first = await paynetGen("certs", "init", "--out", out, "--days", "10", "--server-cn", "box.test");
    expect(first.code, first.stderr).toBe(0);
    for (const name of ["ca", "server", "device"]) {
      expect(first.stdout).toContain(`wrote ${join(out, `${name}.crt`)} and ${join(out, `${name}.key`)}`);
    }
    expect(first.stdout).toContain('CN="box.test"');
    expect(first.stderr).toMatch(/Warning: .*server\.crt \(CN="box\.test"\) expires in 10 day\(s\)/);
    expect(first.stderr).toMatch(/Warning: .*device\.crt \(CN="SN-DEMO-001"\) expires in 10 day\(s\)/);
    expect(first.stderr).not.toContain("ca.crt");
    expect((await readdir(out)).sort()).toEqual(
      ["ca.crt", "ca.key", "device.crt", "device.key", "server.crt", "server.key"].sort(),
    );
    expect((await stat(join(out, "ca.key"))).mode & 0o777).toBe(0o600);
    const server = new X509Certificate(await readFile(join(out, "server.crt"), "utf8"));
    expect(server.subjectAltName).toBe("DNS:box.test, DNS:localhost, IP Address:127.0.0.1");

    const again = await paynetGen("certs", "init", "--out", out);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`refusing to overwrite ${join(out, "ca.crt")}`);
    expect(again.stderr).toContain("--force");

    const forced = await paynetGen("certs", "init", "--out", out, "--force", "--algorithm", "rsa-2048");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe("");
    const ca = new X509Certificate(await readFile(join(out, "ca.crt"), "utf8"));
    expect(ca.publicKey.asymmetricKeyType).toBe("rsa");

    const device = await paynetGen("certs", "device", "../../etc/passwd", "--out", out);
    expect(device.code, device.stderr).toBe(0);
    expect(device.stdout).toMatch(/wrote .*___\.\._etc_passwd-[0-9a-f]{12}\.crt/);
    expect(await readdir(root)).toEqual(["certs"]);
  });

  it("init issues device.crt for --device-sn (the demo's serial by default) and device SN one per serial", async () => {
    const subject = async (path: string) => new X509Certificate(await readFile(path, "utf8")).subject;
    const byDefault = join(root, "default-sn");
    expect((await paynetGen("certs", "init", "--out", byDefault)).code).toBe(0);
    expect(await subject(join(byDefault, "device.crt"))).toBe("CN=SN-DEMO-001");

    const out = join(root, "serials");
    const init = await paynetGen("certs", "init", "--out", out, "--device-sn", "SN-0001");
    expect(init.code, init.stderr).toBe(0);
    expect(await subject(join(out, "device.crt"))).toBe("CN=SN-0001");
    // The flag's earlier name still works.
    const alias = join(root, "alias");
    expect((await paynetGen("certs", "init", "--out", alias, "--device-cn", "SN-OLD")).code).toBe(0);
    expect(await subject(join(alias, "device.crt"))).toBe("CN=SN-OLD");

    const device = await paynetGen("certs", "device", "SN-0042", "--out", out);
    expect(device.code, device.stderr).toBe(0);
    expect(device.stdout).toContain(`wrote ${join(out, "SN-0042.crt")} and ${join(out, "SN-0042.key")}`);
    const cert = new X509Certificate(await readFile(join(out, "SN-0042.crt"), "utf8"));
    expect(cert.subject).toBe("CN=SN-0042");
    expect(cert.checkIssued(new X509Certificate(await readFile(join(out, "ca.crt"), "utf8")))).toBe(true);
  });

  it("device fails clearly without a CA", async () => {
    const out = join(root, "empty");
    const run = await paynetGen("certs", "device", "device-002", "--out", out);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `no CA found at ${join(out, "ca.crt")}; run \`paynet-gen certs init\` first`,
    );
  });

  it("device refuses a CN over 64 characters and never overwrites device.crt via DEVICE", async () => {
    const out = join(root, "names");
    expect((await paynetGen("certs", "init", "--out", out)).code).toBe(0);
    const long = await paynetGen("certs", "device", "d".repeat(65), "--out", out);
    expect(long.code).toBe(1);
    expect(long.stderr).toContain("is 65 characters long; X.509 allows at most 64 (RFC 5280 ub-common-name)");
    const upper = await paynetGen("certs", "device", "DEVICE", "--out", out);
    expect(upper.code, upper.stderr).toBe(0);
    expect(upper.stdout).toMatch(/wrote .*DEVICE-[0-9a-f]{12}\.crt/);
  });

  it("rejects an unknown algorithm", async () => {
    const run = await paynetGen("certs", "init", "--out", join(root, "x"), "--algorithm", "dsa");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("ec-p256, rsa-2048, rsa-4096");
  });
});
