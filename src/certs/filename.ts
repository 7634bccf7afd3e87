import { createHash } from "node:crypto";

const SAFE = /^[A-Za-z0-9._-]$/;
const MAX_BASE_LENGTH = 100;
/**
 * Base names `certs init` owns (`ca`, `server`, `device`): a device certificate must never land on
 * them, also not on a case-insensitive file system (`DEVICE.crt` is `device.crt` on macOS/Windows).
 */
const OWNED_NAMES = new Set(["ca", "server", "device"]);
/** DOS device names Windows refuses as a file name, with any extension (`nul.crt`, `con.x.crt`). */
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

/**
 * A file-system-safe base name (no extension) for a device certificate with common name `cn`.
 *
 * Characters outside `[A-Za-z0-9._-]` become `_`, and whenever the result differs from the CN (or
 * would be empty, hidden, `..`, too long or a reserved name, compared case-insensitively) a short
 * hash of the CN is appended, so two different CNs never map to the same name: verbatim names are
 * the CN itself, hashed names carry the CN's digest. The result never contains a path separator and
 * never starts with a dot.
 */
export function deviceFileName(cn: string): string {
  const replaced = Array.from(cn, (ch) => (SAFE.test(ch) ? ch : "_")).join("");
  let base = replaced.replace(/^\.+/, (dots) => "_".repeat(dots.length)).slice(0, MAX_BASE_LENGTH);
  const verbatim = base === cn && base.length > 0 && !isReserved(base) && !HASH_SUFFIX.test(base);
  if (verbatim) return base;
  if (base.length === 0) base = "device";
  return `${base}-${digest(cn)}`;
}

/** Whether `base` (+ `.crt`/`.key`) could stand for a file `certs init` writes or Windows refuses. */
function isReserved(base: string): boolean {
  const lower = base.toLowerCase();
  return OWNED_NAMES.has(lower) || WINDOWS_DEVICES.test(lower.split(".")[0] as string);
}

/**
 * Names produced with a digest end in `-` + 12 hex digits; a CN that already looks like that is
 * hashed too, so it cannot collide with the hashed name of another CN.
 */
const HASH_SUFFIX = /-[0-9a-f]{12}$/;

function digest(cn: string): string {
  return createHash("sha256").update(cn, "utf8").digest("hex").slice(0, 12);
}
