import { UsageError } from "./errors.js";

/** The lowest TLS version a paynetd or paynetcli accepts: 1.3 unless 1.2 is asked for. */
export type TlsMinVersion = "TLSv1.2" | "TLSv1.3";

/**
 * Parses `--tls-min-version`: `1.3` (the default) or `1.2`, the opt-in for device TLS stacks
 * without TLS 1.3 (mbedTLS 2.x). Anything else is a usage error, never a guess.
 */
export function parseTlsMinVersion(flag: string, value: string | undefined): TlsMinVersion {
  if (value === undefined || value === "1.3") return "TLSv1.3";
  if (value === "1.2") return "TLSv1.2";
  throw new UsageError(
    `${flag}: expected 1.3 (the default) or 1.2 (devices without TLS 1.3), got "${value}"`,
  );
}
