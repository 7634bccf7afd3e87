/**
 * A throw-away PKI for tests, issued in memory with the same code `paynet-gen certs` uses.
 * Everything is PEM; `makeTestPki()` is memoised, so a test file pays for key generation once.
 */
import {
  type DeviceCertOptions,
  type IssuedCert,
  issueCa,
  issueCrl,
  issueDeviceCert,
  issueIntermediateCa,
  issueServerCert,
} from "../../src/certs/index.js";

export type { IssuedCert } from "../../src/certs/index.js";

/** Options for {@link TestPki.issueDevice}; `ca` defaults to the main test CA. */
export type IssueDeviceOptions = Omit<DeviceCertOptions, "commonName"> & { readonly ca?: IssuedCert };

export interface TestPki {
  /** The test CA (CN `paynet test CA`). */
  readonly ca: IssuedCert;
  /** Server certificate from `ca`: CN `localhost`, SANs localhost, 127.0.0.1, paynet.local. */
  readonly server: IssuedCert;
  /** A second, different server certificate from `ca` with the same names, for hot-reload tests. */
  readonly serverNew: IssuedCert;
  /** Device certificate from `ca`, CN `device-001`. */
  readonly device: IssuedCert;
  /** Device certificate from `ca`, CN `device-002`. */
  readonly device2: IssuedCert;
  /** An unrelated CA (CN `other CA`). */
  readonly otherCa: IssuedCert;
  /** Device certificate (CN `device-001`) signed by `otherCa`: must be refused by `ca`-trusting peers. */
  readonly foreignDevice: IssuedCert;
  /** Device certificate from `ca` (CN `device-expired`) whose validity lies entirely in the past. */
  readonly expiredDevice: IssuedCert;
  /** Device certificate from `ca` (CN `device-revoked`) listed in `crl`. */
  readonly revokedDevice: IssuedCert;
  /** PEM X509 CRL from `ca` listing `revokedDevice`'s serial. */
  readonly crl: string;
  /** PEM X509 CRL from `ca` listing nothing. */
  readonly emptyCrl: string;
  /** A root CA (CN `paynet test root CA`, pathLen 1) that signs `intermediateCa`. */
  readonly rootCa: IssuedCert;
  /** Intermediate CA (CN `paynet test intermediate CA`) signed by `rootCa`. */
  readonly intermediateCa: IssuedCert;
  /**
   * Device certificate (CN `device-101`) from `intermediateCa`; its `cert` is the chain a device
   * sends: the device certificate followed by the intermediate.
   */
  readonly chainDevice: IssuedCert;
  /** Issues one more device certificate (from `ca` unless `opts.ca` is given). */
  issueDevice(cn: string, opts?: IssueDeviceOptions): Promise<IssuedCert>;
}

const DAY_MS = 86_400_000;
let pki: Promise<TestPki> | undefined;

/** The process-wide test PKI (issued on first call). */
export function makeTestPki(): Promise<TestPki> {
  pki ??= buildTestPki();
  return pki;
}

async function buildTestPki(): Promise<TestPki> {
  const [ca, otherCa] = await Promise.all([
    issueCa({ commonName: "paynet test CA" }),
    issueCa({ commonName: "other CA" }),
  ]);
  const serverNames = { commonName: "localhost", altNames: ["localhost", "127.0.0.1", "paynet.local"] };
  const [server, serverNew, device, device2, foreignDevice, expiredDevice, revokedDevice] = await Promise.all(
    [
      issueServerCert(ca, serverNames),
      issueServerCert(ca, serverNames),
      issueDeviceCert(ca, { commonName: "device-001" }),
      issueDeviceCert(ca, { commonName: "device-002" }),
      issueDeviceCert(otherCa, { commonName: "device-001" }),
      issueDeviceCert(ca, {
        commonName: "device-expired",
        notBefore: new Date(Date.now() - 10 * DAY_MS),
        validDays: 1,
      }),
      issueDeviceCert(ca, { commonName: "device-revoked" }),
    ],
  );
  const rootCa = await issueCa({ commonName: "paynet test root CA", pathLength: 1 });
  const intermediateCa = await issueIntermediateCa(rootCa, { commonName: "paynet test intermediate CA" });
  const chainLeaf = await issueDeviceCert(intermediateCa, { commonName: "device-101" });
  const chainDevice = { ...chainLeaf, cert: `${chainLeaf.cert.trimEnd()}\n${intermediateCa.cert}` };
  const [crl, emptyCrl] = await Promise.all([
    issueCrl(ca, [{ serialNumber: revokedDevice.serialNumber }]),
    issueCrl(ca, []),
  ]);
  return {
    ca,
    server,
    serverNew,
    device,
    device2,
    otherCa,
    foreignDevice,
    expiredDevice,
    revokedDevice,
    crl,
    emptyCrl,
    rootCa,
    intermediateCa,
    chainDevice,
    issueDevice: (cn, opts = {}) => {
      const { ca: issuer = ca, ...rest } = opts;
      return issueDeviceCert(issuer, { ...rest, commonName: cn });
    },
  };
}
