import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ServerTlsOptions } from "@paynet/runtime";
import { ExampleError } from "../shared/errors.js";

/** Length of a TLS session ticket key as Node wants it. */
const TICKET_KEY_BYTES = 48;

/** Reads the server's TLS material from `certsDir`; `ca.crt` is required only with `mtls`. */
export async function loadServerTls(certsDir: string, mtls: boolean): Promise<ServerTlsOptions> {
  const [cert, key] = await Promise.all([readPem(certsDir, "server.crt"), readPem(certsDir, "server.key")]);
  if (!mtls) return { cert, key };
  return { cert, key, ca: await readPem(certsDir, "ca.crt"), requireClientCert: true };
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

async function readPem(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ExampleError(
      "CERTS_MISSING",
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); issue certificates with: npx paynet-gen certs init --out ${dir}`,
      { cause: error },
    );
  }
}
