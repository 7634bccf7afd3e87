/**
 * The admin endpoint's bearer token. It moves money, so there is always one: given with
 * `--admin-token`, read from `--admin-token-file`, or generated at first start into that file
 * (default `<certs>/admin.token`, next to the server key) with mode 0600 and printed once.
 */
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { ExampleError } from "../shared/errors.js";
import type { Log } from "../shared/log.js";

/** Shortest token accepted from a flag or a file: guessing must stay out of reach. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
/** The default token file in the certificates directory. */
export const ADMIN_TOKEN_FILE = "admin.token";

export interface AdminTokenSource {
  /** The token itself (`--admin-token`), when given. */
  readonly token?: string | undefined;
  /** Where the token is read from, or generated into when the file does not exist yet. */
  readonly file: string;
}

/** The token to require; throws `ADMIN` when the file cannot be read or holds no usable token. */
export async function loadAdminToken(source: AdminTokenSource, log: Log): Promise<string> {
  if (source.token !== undefined) return checked(source.token, "--admin-token");
  let text: string;
  try {
    text = await readFile(source.file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ExampleError("ADMIN", `cannot read the admin token ${source.file}: ${String(error)}`, {
        cause: error,
      });
    }
    return generate(source.file, log);
  }
  const { mode } = await stat(source.file);
  if ((mode & 0o077) !== 0) {
    log.warn(
      `admin token ${source.file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  return checked(text.trim(), source.file);
}

async function generate(file: string, log: Log): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  try {
    // `wx`: never overwrite a token another process wrote meanwhile.
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    throw new ExampleError("ADMIN", `cannot write the admin token ${file}: ${String(error)}`, {
      cause: error,
    });
  }
  // Shown this once; afterwards it is in the file only.
  log.info(`admin token generated into ${file} (mode 0600): ${token}`);
  return token;
}

function checked(token: string, where: string): string {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ExampleError(
      "ADMIN",
      `${where}: the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces`,
    );
  }
  return token;
}
