import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CertFilesError } from "../../src/certs/errors.js";
import { INIT_FILES, initCerts, issueDeviceFiles } from "../../src/certs/files.js";
import { x509 } from "../../src/certs/x509.js";
import { mtlsHandshake } from "./tls-harness.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "paynet-certs-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const read = (dir: string, name: string) => readFile(join(dir, name), "utf8");
const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function rejection(promise: Promise<unknown>): Promise<CertFilesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CertFilesError);
  return error as CertFilesError;
}

describe("initCerts", () => {
  it("writes the six files into a new 0700 directory, keys 0600", async () => {
    const out = join(root, "nested", "certs");
    const written = await initCerts({ out });
    expect((await readdir(out)).sort()).toEqual([...INIT_FILES].sort());
    expect(await mode(out)).toBe(0o700);
    for (const name of INIT_FILES) {
      expect(await mode(join(out, name)), name).toBe(name.endsWith(".key") ? 0o600 : 0o644);
    }
    expect(written.map((w) => [w.role, w.commonName, w.certPath, w.keyPath])).toEqual([
      ["ca", "paynet CA", join(out, "ca.crt"), join(out, "ca.key")],
      ["server", "paynet.local", join(out, "server.crt"), join(out, "server.key")],
      ["device", "SN-DEMO-001", join(out, "device.crt"), join(out, "device.key")],
    ]);
  });

  it("issues a CA, a serverAuth server and a clientAuth device forming one chain", async () => {
    const written = await initCerts({ out: root, serverCn: "box.example.com", deviceSn: "SN-1", days: 10 });
    const ca = new X509Certificate(await read(root, "ca.crt"));
    const server = new X509Certificate(await read(root, "server.crt"));
    const device = new X509Certificate(await read(root, "device.crt"));
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey) && device.verify(ca.publicKey)).toBe(true);
    expect(server.subject).toBe("CN=box.example.com");
    expect(server.subjectAltName).toBe("DNS:box.example.com, DNS:localhost, IP Address:127.0.0.1");
    expect(server.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(device.subject).toBe("CN=SN-1");
    expect(device.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(written[1]!.serialNumber).toBe(server.serialNumber);
    expect(written[1]!.notAfter.getTime()).toBe(new Date(server.validTo).getTime());
    const leafDays = (written[2]!.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(leafDays).toBeGreaterThan(9.9);
    expect(leafDays).toBeLessThanOrEqual(10);
    expect(Math.round((written[0]!.notAfter.getTime() - Date.now()) / 86_400_000)).toBe(3650);
  });

  it("uses RSA when asked", async () => {
    await initCerts({ out: root, algorithm: "rsa-2048", caDays: 30 });
    for (const name of ["ca", "server", "device"]) {
      const cert = new X509Certificate(await read(root, `${name}.crt`));
      expect(cert.publicKey.asymmetricKeyType, name).toBe("rsa");
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength, name).toBe(2048);
    }
  });

  it("refuses to overwrite, naming the files, and leaves them untouched", async () => {
    await initCerts({ out: root });
    const before = await read(root, "ca.key");
    const error = await rejection(initCerts({ out: root }));
    expect(error.code).toBe("CERTS_EXIST");
    for (const name of INIT_FILES) expect(error.message).toContain(join(root, name));
    expect(error.message).toContain("--force");
    expect(await read(root, "ca.key")).toBe(before);
  });

  it("refuses when any single target file exists", async () => {
    await writeFile(join(root, "device.key"), "mine");
    const error = await rejection(initCerts({ out: root }));
    expect(error.message).toBe(
      `refusing to overwrite ${join(root, "device.key")}; pass --force to replace it`,
    );
    expect(await readdir(root)).toEqual(["device.key"]);
  });

  it("replaces everything with force, keeping key modes and leaving no temporary files", async () => {
    const first = await initCerts({ out: root });
    await writeFile(join(root, "server.key"), "loose", { mode: 0o644 });
    const second = await initCerts({ out: root, force: true });
    expect(second[0]!.serialNumber).not.toBe(first[0]!.serialNumber);
    expect(new X509Certificate(await read(root, "ca.crt")).serialNumber).toBe(second[0]!.serialNumber);
    expect(await mode(join(root, "server.key"))).toBe(0o600);
    expect((await readdir(root)).sort()).toEqual([...INIT_FILES].sort());
  });

  it("keeps the mode of an existing output directory", async () => {
    await mkdir(join(root, "shared"), { mode: 0o755 });
    await initCerts({ out: join(root, "shared") });
    expect(await mode(join(root, "shared"))).toBe(0o755);
  });

  it("refuses a common name over 64 characters (RFC 5280) before writing anything", async () => {
    const long = "x".repeat(65);
    for (const options of [{ deviceSn: long }, { serverCn: long }, { caCn: long }]) {
      const error = await rejection(initCerts({ out: root, ...options }));
      expect(error.code).toBe("INVALID_OPTION");
      expect(error.message).toMatch(/is 65 characters long; X\.509 allows at most 64 \(RFC 5280/);
    }
    expect(await readdir(root)).toEqual([]);
    // 64 characters, counted as code points (an emoji is one character, two UTF-16 units).
    await initCerts({ out: root, deviceSn: `${"y".repeat(63)}😀` });
    const device = new x509.X509Certificate(await read(root, "device.crt"));
    expect(device.subjectName.getField("CN")).toEqual([`${"y".repeat(63)}😀`]);
  });

  it("reports an invalid CN as an option error", async () => {
    const error = await rejection(initCerts({ out: root, deviceSn: "" }));
    expect(error.code).toBe("INVALID_OPTION");
    expect(await readdir(root)).toEqual([]);
  });
});

describe("issueDeviceFiles", () => {
  it("fails clearly when there is no CA", async () => {
    const out = join(root, "certs");
    const error = await rejection(issueDeviceFiles({ out, commonName: "device-002" }));
    expect(error.code).toBe("CA_MISSING");
    expect(error.message).toBe(`no CA found at ${join(out, "ca.crt")}; run \`paynet-gen certs init\` first`);
  });

  it("fails clearly when only the CA key is missing", async () => {
    await initCerts({ out: root });
    await rm(join(root, "ca.key"));
    const error = await rejection(issueDeviceFiles({ out: root, commonName: "d" }));
    expect(error.message).toBe(`no CA found at ${join(root, "ca.key")}; run \`paynet-gen certs init\` first`);
  });

  it("refuses a CA whose key does not match, or a ca.crt that is not a CA", async () => {
    await initCerts({ out: root });
    const other = join(root, "other");
    await initCerts({ out: other });
    await writeFile(join(root, "ca.key"), await read(other, "ca.key"));
    expect((await rejection(issueDeviceFiles({ out: root, commonName: "d" }))).code).toBe("CA_INVALID");
    await writeFile(join(other, "ca.crt"), await read(other, "device.crt"));
    await writeFile(join(other, "ca.key"), await read(other, "device.key"));
    const notCa = await rejection(issueDeviceFiles({ out: other, commonName: "d" }));
    expect(notCa.code).toBe("CA_INVALID");
    expect(notCa.message).toContain("is not a CA certificate");
  });

  it("issues <cn>.crt/.key from the CA, key 0600", async () => {
    await initCerts({ out: root });
    const written = await issueDeviceFiles({ out: root, commonName: "device-002", days: 5 });
    expect(written).toMatchObject({
      role: "device",
      commonName: "device-002",
      certPath: join(root, "device-002.crt"),
      keyPath: join(root, "device-002.key"),
    });
    const cert = new X509Certificate(await read(root, "device-002.crt"));
    expect(cert.subject).toBe("CN=device-002");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(cert.verify(new X509Certificate(await read(root, "ca.crt")).publicKey)).toBe(true);
    expect(await mode(join(root, "device-002.key"))).toBe(0o600);
    expect((written.notAfter.getTime() - Date.now()) / 86_400_000).toBeLessThanOrEqual(5);
  });

  it("keeps unsafe CNs inside the output directory, with distinct names", async () => {
    const out = join(root, "certs");
    await initCerts({ out });
    const cns = ["../../etc", "a/b", "a_b", "a\\b", "Zähler №7", "ca", ".."];
    const written = [];
    for (const commonName of cns) written.push(await issueDeviceFiles({ out, commonName }));
    expect(await readdir(root)).toEqual(["certs"]);
    const files = await readdir(out);
    expect(files).toHaveLength(INIT_FILES.length + 2 * cns.length);
    for (const [i, w] of written.entries()) {
      // Node escapes special characters in `subject`; read the raw value instead.
      const cert = new x509.X509Certificate(await readFile(w.certPath, "utf8"));
      expect(cert.subjectName.getField("CN")).toEqual([cns[i]]);
    }
    expect(new X509Certificate(await read(out, "ca.crt")).ca).toBe(true);
  });

  it("never writes a device named DEVICE (or CA) onto the files of certs init", async () => {
    await initCerts({ out: root });
    const before = await read(root, "device.crt");
    const written = [
      await issueDeviceFiles({ out: root, commonName: "DEVICE" }),
      await issueDeviceFiles({ out: root, commonName: "Ca" }),
    ];
    for (const w of written) expect(w.certPath).toMatch(/-[0-9a-f]{12}\.crt$/);
    expect(await read(root, "device.crt")).toBe(before);
    const lower = (await readdir(root)).map((name) => name.toLowerCase());
    expect(new Set(lower).size).toBe(lower.length);
  });

  it("refuses a device common name over 64 characters with a clear error", async () => {
    await initCerts({ out: root });
    const error = await rejection(issueDeviceFiles({ out: root, commonName: "SN-".repeat(30) }));
    expect(error.code).toBe("INVALID_OPTION");
    expect(error.message).toBe(
      'device: the common name "SN-SN-SN-SN-SN-SN-SN..." is 90 characters long; X.509 allows at most 64 (RFC 5280 ub-common-name)',
    );
    expect((await readdir(root)).sort()).toEqual([...INIT_FILES].sort());
  });

  it("refuses to overwrite the same device without force, replaces it with force", async () => {
    await initCerts({ out: root });
    const first = await issueDeviceFiles({ out: root, commonName: "a/b" });
    const error = await rejection(issueDeviceFiles({ out: root, commonName: "a/b" }));
    expect(error.code).toBe("CERTS_EXIST");
    expect(error.message).toContain(first.certPath);
    expect(error.message).toContain(first.keyPath);
    const second = await issueDeviceFiles({ out: root, commonName: "a/b", force: true });
    expect(second.certPath).toBe(first.certPath);
    expect(second.serialNumber).not.toBe(first.serialNumber);
  });
});

describe("issued files in a real mTLS handshake", () => {
  const serverOptions = async (dir: string) => ({
    cert: await read(dir, "server.crt"),
    key: await read(dir, "server.key"),
    ca: await read(dir, "ca.crt"),
  });
  const clientOptions = async (trust: string, dir: string, name: string) => ({
    ca: await read(trust, "ca.crt"),
    cert: await read(dir, `${name}.crt`),
    key: await read(dir, `${name}.key`),
    servername: "paynet.local",
  });

  it("accepts devices from the same CA and refuses a device from another CA", async () => {
    const ours = join(root, "ours");
    const foreign = join(root, "foreign");
    await Promise.all([initCerts({ out: ours }), initCerts({ out: foreign })]);
    await issueDeviceFiles({ out: ours, commonName: "device-002" });
    const server = await serverOptions(ours);
    expect(await mtlsHandshake(server, await clientOptions(ours, ours, "device"))).toEqual({
      ok: true,
      peerSubjectCN: "SN-DEMO-001",
    });
    expect(await mtlsHandshake(server, await clientOptions(ours, ours, "device-002"))).toEqual({
      ok: true,
      peerSubjectCN: "device-002",
    });
    expect(await mtlsHandshake(server, await clientOptions(ours, foreign, "device"))).toMatchObject({
      ok: false,
    });
  });

  it("works with RSA certificates", async () => {
    await initCerts({ out: root, algorithm: "rsa-2048" });
    expect(await mtlsHandshake(await serverOptions(root), await clientOptions(root, root, "device"))).toEqual(
      {
        ok: true,
        peerSubjectCN: "SN-DEMO-001",
      },
    );
  });

  it("the client checks the server name against the SANs (localhost, 127.0.0.1, the CN)", async () => {
    await initCerts({ out: root });
    const server = await serverOptions(root);
    for (const servername of ["localhost", "paynet.local"]) {
      const client = { ...(await clientOptions(root, root, "device")), servername };
      expect(await mtlsHandshake(server, client), servername).toMatchObject({ ok: true });
    }
    const wrongName = { ...(await clientOptions(root, root, "device")), servername: "evil.example" };
    expect(await mtlsHandshake(server, wrongName)).toMatchObject({ ok: false });
  });
});
