/**
 * Benchmark PKI: a CA, two server certificates (the second for the hot-reload phase) and one device
 * certificate, all ECDSA P-256, issued with paynet-gen's own certificate code into a temp dir.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCa, issueDeviceCert, issueServerCert } from "../../src/certs/index.js";

/** File names inside the PKI directory. */
export interface BenchPkiFiles {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly server2Cert: string;
  readonly server2Key: string;
  readonly deviceCert: string;
  readonly deviceKey: string;
}

/** Issues the PKI into `dir` and returns the file paths. */
export async function issueBenchPki(dir: string): Promise<BenchPkiFiles> {
  mkdirSync(dir, { recursive: true });
  const ca = await issueCa({ commonName: "paynet bench CA" });
  const names = { commonName: "localhost", altNames: ["localhost", "127.0.0.1"] };
  const [server, server2, device] = await Promise.all([
    issueServerCert(ca, names),
    issueServerCert(ca, names),
    issueDeviceCert(ca, { commonName: "bench-device" }),
  ]);
  const files: BenchPkiFiles = {
    dir,
    ca: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server-key.pem"),
    server2Cert: join(dir, "server2.pem"),
    server2Key: join(dir, "server2-key.pem"),
    deviceCert: join(dir, "device.pem"),
    deviceKey: join(dir, "device-key.pem"),
  };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.serverCert, server.cert);
  writeFileSync(files.serverKey, server.key, { mode: 0o600 });
  writeFileSync(files.server2Cert, server2.cert);
  writeFileSync(files.server2Key, server2.key, { mode: 0o600 });
  writeFileSync(files.deviceCert, device.cert);
  writeFileSync(files.deviceKey, device.key, { mode: 0o600 });
  return files;
}

/** Reads a PEM file. */
export function pem(path: string): string {
  return readFileSync(path, "utf8");
}
