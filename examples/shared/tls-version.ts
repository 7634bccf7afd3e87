import { oneOf } from "./config/values.js";

/** The lowest TLS version a paynetd or paynetcli accepts: 1.3 unless 1.2 is asked for. */
export type TlsMinVersion = "TLSv1.2" | "TLSv1.3";

/**
 * The `--tls-min-version` setting: `1.3` (the default) or `1.2`, the opt-in for device TLS stacks
 * without TLS 1.3 (mbedTLS 2.x). Anything else is refused, never a guess.
 */
export const tlsMinVersionKind = oneOf<TlsMinVersion>(
  ["TLSv1.3", "TLSv1.2"],
  { "1.3": "TLSv1.3", "1.2": "TLSv1.2" },
  "1.3 (the default) or 1.2 (devices without TLS 1.3)",
);
