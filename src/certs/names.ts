import { isIP } from "node:net";

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** RFC 5280 `ub-common-name`: a subject common name holds at most 64 characters. */
export const MAX_COMMON_NAME_LENGTH = 64;

/**
 * What is wrong with `cn` as a subject common name (empty, or longer than
 * {@link MAX_COMMON_NAME_LENGTH} characters), or `undefined` when it is fine. Characters are
 * counted as Unicode code points, as the X.509 string types count them.
 */
export function commonNameProblem(cn: string): string | undefined {
  if (cn.length === 0) return "the common name must not be empty";
  const length = Array.from(cn).length;
  if (length <= MAX_COMMON_NAME_LENGTH) return undefined;
  const shown = `${Array.from(cn).slice(0, 20).join("")}...`;
  return (
    `the common name ${JSON.stringify(shown)} is ${length} characters long; X.509 allows at most ` +
    `${MAX_COMMON_NAME_LENGTH} (RFC 5280 ub-common-name)`
  );
}

/** True for an LDH host name such as `device-001` or `paynet.local` (not an IP address). */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253 || isIP(value) !== 0) return false;
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  return name.split(".").every((label) => DNS_LABEL.test(label));
}

/** A subject alternative name entry, typed the way @peculiar/x509 expects. */
export interface AltName {
  readonly type: "dns" | "ip";
  readonly value: string;
}

/**
 * Types and de-duplicates SAN values. IPs become `ip` entries, host names `dns` entries
 * (compared case-insensitively); anything else is rejected because a SAN must be matchable.
 */
export function toAltNames(values: readonly string[]): AltName[] {
  const seen = new Set<string>();
  const out: AltName[] = [];
  for (const raw of values) {
    const value = raw.trim();
    let entry: AltName;
    if (isIP(value) !== 0) entry = { type: "ip", value };
    else if (isDnsName(value) || isWildcardDnsName(value)) entry = { type: "dns", value };
    else throw new Error(`invalid subject alternative name ${JSON.stringify(raw)}: not a DNS name or IP`);
    const key = `${entry.type}:${entry.value.toLowerCase()}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(entry);
    }
  }
  return out;
}

function isWildcardDnsName(value: string): boolean {
  return value.startsWith("*.") && isDnsName(value.slice(2)) && value.slice(2).includes(".");
}
