import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { ServerTlsOptions } from "@paynet/runtime";
import { ExampleError } from "../shared/errors.js";
import { countRevoked } from "./crl.js";

/** Length of a TLS session ticket key as Node wants it. */
const TICKET_KEY_BYTES = 48;

/** File of the CA's revocation list in the certificates directory (`paynet-gen certs revoke`). */
export const CRL_FILE = "ca.crl";

/** Where paynetd's TLS material is: `--certs DIR` and the files in it, each replaceable by its own flag. */
export interface ServerTlsFiles {
  /** The certificates directory (for hints), when given. */
  readonly dir: string | undefined;
  readonly cert: string;
  readonly key: string;
  /** Client CA bundle (mTLS). */
  readonly ca: string | undefined;
  /** Revocation list, used when the file exists (mTLS). */
  readonly crl: string | undefined;
}

/** The TLS material paynetd reads, and how many certificates its CRL revokes. */
export interface LoadedTls {
  readonly tls: ServerTlsOptions;
  /** Path of the CRL in use (mTLS only, when `ca.crl` exists). */
  readonly crlPath: string | undefined;
  /** Entries of that CRL; `undefined` when there is none or it cannot be counted. */
  readonly revoked: number | undefined;
}

/**
 * Reads the server's TLS material: certificate and key, and with `mtls` also the client CA
 * (required) and the CRL (when its file exists).
 */
export async function loadServerTls(files: ServerTlsFiles, mtls: boolean): Promise<LoadedTls> {
  const [cert, key] = await Promise.all([readPem(files.cert, files.dir), readPem(files.key, files.dir)]);
  if (!mtls) return { tls: { cert, key }, crlPath: undefined, revoked: undefined };
  if (files.ca === undefined) {
    throw new ExampleError(
      "CERTS_MISSING",
      "mTLS needs a client CA: --client-ca FILE or --certs DIR with ca.crt",
    );
  }
  const ca = await readPem(files.ca, files.dir);
  const crlPath = files.crl;
  const crl = crlPath === undefined ? undefined : await readOptional(crlPath);
  const tls: ServerTlsOptions = { cert, key, ca, requireClientCert: true };
  if (crl === undefined || crlPath === undefined) return { tls, crlPath: undefined, revoked: undefined };
  return { tls: { ...tls, crl }, crlPath, revoked: countRevoked(crl) };
}

/**
 * The ticket key in `path`, created with fresh random bytes (mode 0600) when the file is missing.
 * Sharing it between restarts lets devices resume their TLS session after the server restarted.
 */
export async function loadTicketKeys(path: string): Promise<Buffer> {
  let keys: Buffer;
  try {
    keys = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") {
      throw new ExampleError(
        "TICKET_KEYS",
        `cannot read the ticket key file ${path} (${code ?? String(error)})`,
        {
          cause: error,
        },
      );
    }
    keys = randomBytes(TICKET_KEY_BYTES);
    await writeFile(path, keys, { mode: 0o600 });
    return keys;
  }
  if (keys.length !== TICKET_KEY_BYTES) {
    throw new ExampleError(
      "TICKET_KEYS",
      `${path} is not a ticket key file: expected ${TICKET_KEY_BYTES} bytes, found ${keys.length} (delete it to create a new one)`,
    );
  }
  return keys;
}

async function readPem(path: string, dir: string | undefined): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ExampleError(
      "CERTS_MISSING",
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); issue certificates with: npx paynet-gen certs init --out ${dir ?? "certs"}`,
      { cause: error },
    );
  }
}

/** The file's text, or `undefined` when it does not exist (other read errors are reported). */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ExampleError("CERTS_MISSING", `cannot read ${path} (${code ?? String(error)})`, {
      cause: error,
    });
  }
}
