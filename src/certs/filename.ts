import { createHash } from "node:crypto";

const SAFE = /^[A-Za-z0-9._-]$/;
const MAX_BASE_LENGTH = 100;
/** Names `certs init` owns, and names Windows refuses; a device never gets them verbatim. */
const RESERVED = /^(ca|server|con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * A file-system-safe base name (no extension) for a device certificate with common name `cn`.
 *
 * Characters outside `[A-Za-z0-9._-]` become `_`, and whenever the result differs from the CN (or
 * would be empty, hidden, `..`, too long or a reserved name) a short hash of the CN is appended, so
 * two different CNs never map to the same name: verbatim names are the CN itself, hashed names carry
 * the CN's digest. The result never contains a path separator and never starts with a dot.
 */
export function deviceFileName(cn: string): string {
  const replaced = Array.from(cn, (ch) => (SAFE.test(ch) ? ch : "_")).join("");
  let base = replaced.replace(/^\.+/, (dots) => "_".repeat(dots.length)).slice(0, MAX_BASE_LENGTH);
  const verbatim = base === cn && base.length > 0 && !RESERVED.test(base) && !HASH_SUFFIX.test(base);
  if (verbatim) return base;
  if (base.length === 0) base = "device";
  return `${base}-${digest(cn)}`;
}

/**
 * Names produced with a digest end in `-` + 12 hex digits; a CN that already looks like that is
 * hashed too, so it cannot collide with the hashed name of another CN.
 */
const HASH_SUFFIX = /-[0-9a-f]{12}$/;

function digest(cn: string): string {
  return createHash("sha256").update(cn, "utf8").digest("hex").slice(0, 12);
}
