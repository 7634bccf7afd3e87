/**
 * The few DER (ASN.1) reads the server needs to match certificates against CRLs: enough to walk
 * SEQUENCEs and slice out INTEGERs and Names, nothing more. Malformed input throws `RangeError`.
 */

/** One DER element: its tag and where its header and contents lie in the buffer. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** DER tags used by certificates and CRLs. */
export const DerTag = {
  integer: 0x02,
  sequence: 0x30,
  utcTime: 0x17,
  generalizedTime: 0x18,
  /** `[0]` constructed, context-specific (certificate version, CRL extensions). */
  context0: 0xa0,
} as const;

/** Reads the element starting at `offset`; it must end within `limit`. */
export function readElement(der: Uint8Array, offset: number, limit = der.length): DerElement {
  if (offset + 2 > limit) throw new RangeError(`DER element header truncated at offset ${offset}`);
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4)
      throw new RangeError(`unsupported DER length at offset ${offset}`);
    if (contentStart + lengthBytes > limit) throw new RangeError(`DER length truncated at offset ${offset}`);
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + (der[contentStart + i] as number);
    contentStart += lengthBytes;
  }
  const end = contentStart + length;
  if (end > limit) throw new RangeError(`DER element at offset ${offset} overruns its container`);
  return { tag, start: offset, contentStart, end };
}

/** The children of a constructed element (SEQUENCE, SET, `[n]`). */
export function childrenOf(der: Uint8Array, parent: DerElement): DerElement[] {
  const children: DerElement[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readElement(der, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** Returns `element` when it has the expected tag; throws a `RangeError` naming `what` otherwise. */
export function expectElement(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (element === undefined || element.tag !== tag) {
    throw new RangeError(
      `expected ${what} (tag 0x${tag.toString(16)}), got ${element === undefined ? "nothing" : `tag 0x${element.tag.toString(16)}`}`,
    );
  }
  return element;
}

/** An INTEGER's magnitude as upper-case hex without leading zeros (how serials are compared). */
export function integerHex(der: Uint8Array, element: DerElement): string {
  return normaliseSerial(Buffer.from(der.subarray(element.contentStart, element.end)).toString("hex"));
}

/** Upper-case hex without leading zeros, so `00AB12` (DER) and `AB12` (Node) compare equal. */
export function normaliseSerial(hex: string): string {
  const trimmed = hex
    .replace(/[^0-9a-fA-F]/g, "")
    .replace(/^0+/, "")
    .toUpperCase();
  return trimmed === "" ? "0" : trimmed;
}

/** The full encoding (tag, length, contents) of an element, as hex: a comparable key for Names. */
export function elementHex(der: Uint8Array, element: DerElement): string {
  return Buffer.from(der.subarray(element.start, element.end)).toString("hex");
}

/** A UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5: `Z` form, seconds, no fractions) as a Date. */
export function timeOf(der: Uint8Array, element: DerElement): Date {
  const text = Buffer.from(der.subarray(element.contentStart, element.end)).toString("latin1");
  const utc = element.tag === DerTag.utcTime;
  const match = (
    utc ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/
  ).exec(text);
  if (match === null) throw new RangeError(`malformed ${utc ? "UTCTime" : "GeneralizedTime"} "${text}"`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // RFC 5280: two-digit years 50..99 are 19xx, 00..49 are 20xx.
  const year = utc ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
}

/** Whether `element` is a UTCTime or GeneralizedTime. */
export function isTime(element: DerElement | undefined): element is DerElement {
  return element?.tag === DerTag.utcTime || element?.tag === DerTag.generalizedTime;
}
