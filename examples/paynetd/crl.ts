/**
 * Counts the entries of PEM CRLs, for paynetd's log lines. The runtime parses and enforces the
 * CRL itself; this only reads enough DER to say how many certificates it lists.
 */

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;
const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

interface Element {
  readonly tag: number;
  /** Offset of the contents. */
  readonly start: number;
  /** Offset after the contents. */
  readonly end: number;
}

/** Number of revoked certificates listed by all CRLs in `pem`, or `undefined` if one is unreadable. */
export function countRevoked(pem: string): number | undefined {
  let total = 0;
  for (const match of pem.matchAll(PEM_CRL)) {
    const der = Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64");
    const count = entriesOf(der);
    if (count === undefined) return undefined;
    total += count;
  }
  return total;
}

/** TBSCertList: [version] signature issuer thisUpdate [nextUpdate] [revokedCertificates] ... */
function entriesOf(der: Buffer): number | undefined {
  const list = element(der, 0);
  if (list?.tag !== SEQUENCE) return undefined;
  const tbs = element(der, list.start);
  if (tbs?.tag !== SEQUENCE) return undefined;
  const fields = children(der, tbs);
  if (fields === undefined) return undefined;
  let index = fields[0]?.tag === INTEGER ? 1 : 0;
  index += 2; // signature algorithm, issuer
  if (!isTime(fields[index])) return undefined;
  index++;
  if (isTime(fields[index])) index++;
  const revoked = fields[index];
  if (revoked?.tag !== SEQUENCE) return 0;
  return children(der, revoked)?.length;
}

function isTime(field: Element | undefined): boolean {
  return field?.tag === UTC_TIME || field?.tag === GENERALIZED_TIME;
}

function children(der: Buffer, parent: Element): Element[] | undefined {
  const result: Element[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = element(der, offset);
    if (child === undefined || child.end > parent.end) return undefined;
    result.push(child);
    offset = child.end;
  }
  return result;
}

/** The DER element at `offset` (definite lengths only, as DER requires). */
function element(der: Buffer, offset: number): Element | undefined {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) return undefined;
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const bytes = lengthByte & 0x7f;
    if (bytes === 0 || bytes > 4) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) {
      lengthByte = der[start + i];
      if (lengthByte === undefined) return undefined;
      length = length * 256 + lengthByte;
    }
    start += bytes;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}
