/**
 * The journal's bytes: an 8-byte file header, then records `Len(u32 BE) | CRC-32(u32 BE) | body`,
 * appended one after the other. This module is pure (bytes in, bytes out), so the recovery rules can
 * be checked against every way a write can be cut short.
 *
 * Recovery: a process killed in the middle of an append leaves a prefix of its last write; a power
 * cut can also leave the file extended with zeros. Both show up at the END of the file, and both
 * belong to a write nobody was told had succeeded (the append resolves only after fsync). So a bad
 * record that reaches the end of the file is a torn tail: it is cut off and reported with its offset.
 * A bad record followed by more bytes is something else (a disk error, an edited file): the journal
 * is refused, because guessing could let a command run twice.
 */
import { JournalCorruptError } from "../../errors.js";
import { crc32 } from "./crc32.js";

/** File header: magic and format version. */
export const JOURNAL_MAGIC = Buffer.from("PNJRNL1\n", "latin1");
/** Len + CRC. */
export const RECORD_HEADER_BYTES = 8;
/** No record is larger; a Len beyond it is corruption, not a torn write. */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;

/** Frames one record body (`Len | CRC | body`). */
export function encodeRecord(body: Uint8Array): Buffer {
  if (body.length === 0 || body.length > MAX_RECORD_BYTES) {
    throw new RangeError(`journal record of ${body.length} bytes: expected 1..${MAX_RECORD_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.writeUInt32BE(crc32(body), 4);
  frame.set(body, RECORD_HEADER_BYTES);
  return frame;
}

/** The torn end of a journal: where the last good record ends and why the rest is not a record. */
export interface TornTail {
  /** Byte offset where the torn bytes start (the journal is cut there). */
  readonly offset: number;
  /** Bytes from `offset` to the end of the file. */
  readonly bytes: number;
  readonly reason: "incomplete header" | "incomplete record" | "checksum mismatch" | "zero fill";
}

/** One record of a scanned journal. */
export interface JournalRecord {
  /** Offset of the record's header in the file. */
  readonly offset: number;
  /** The body (a view into the scanned buffer). */
  readonly body: Buffer;
}

/** What {@link scanJournal} found. */
export interface ScanResult {
  /** Records in file order. */
  readonly records: JournalRecord[];
  /** Offset just after the last good record. */
  readonly end: number;
  readonly tail: TornTail | undefined;
}

/**
 * Reads every record of a journal file's content. A missing or short header is a torn creation
 * (`tail` at 0; the caller writes a new header). Throws {@link JournalCorruptError} (naming `file`
 * and the offset) for a wrong header or a bad record that is not at the end.
 */
export function scanJournal(content: Buffer, file: string): ScanResult {
  if (content.length === 0) return { records: [], end: 0, tail: undefined };
  if (isZero(content, 0)) {
    return { records: [], end: 0, tail: { offset: 0, bytes: content.length, reason: "zero fill" } };
  }
  if (content.length < JOURNAL_MAGIC.length) {
    if (!JOURNAL_MAGIC.subarray(0, content.length).equals(content)) {
      throw new JournalCorruptError(file, 0, "not a paynet journal (bad header)");
    }
    return { records: [], end: 0, tail: { offset: 0, bytes: content.length, reason: "incomplete header" } };
  }
  if (!content.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    throw new JournalCorruptError(file, 0, "not a paynet journal (bad header)");
  }
  const records: JournalRecord[] = [];
  let offset = JOURNAL_MAGIC.length;
  const torn = (reason: TornTail["reason"]): ScanResult => ({
    records,
    end: offset,
    tail: { offset, bytes: content.length - offset, reason },
  });
  while (offset < content.length) {
    if (isZero(content, offset)) return torn("zero fill");
    if (content.length - offset < RECORD_HEADER_BYTES) return torn("incomplete header");
    const length = content.readUInt32BE(offset);
    if (length === 0 || length > MAX_RECORD_BYTES) {
      throw new JournalCorruptError(file, offset, `record length ${length} outside 1..${MAX_RECORD_BYTES}`);
    }
    const bodyStart = offset + RECORD_HEADER_BYTES;
    const bodyEnd = bodyStart + length;
    if (bodyEnd > content.length) return torn("incomplete record");
    if (crc32(content, bodyStart, bodyEnd) !== content.readUInt32BE(offset + 4)) {
      if (bodyEnd === content.length) return torn("checksum mismatch");
      throw new JournalCorruptError(file, offset, "checksum mismatch before the end of the journal");
    }
    records.push({ offset, body: content.subarray(bodyStart, bodyEnd) });
    offset = bodyEnd;
  }
  return { records, end: offset, tail: undefined };
}

function isZero(content: Buffer, from: number): boolean {
  for (let i = from; i < content.length; i++) if (content[i] !== 0) return false;
  return true;
}
