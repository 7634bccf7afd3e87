/**
 * The journal behind the durable device record: its recovery rules against every way a write can be
 * cut short (property tests), corruption reported with file and offset, group commit and the order
 * of writes and syncs, compaction, and the lock that keeps a second process out.
 */
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FileIdempotencyStore } from "../../runtime/src/delivery/file-store.js";
import { IdempotencyGuard } from "../../runtime/src/delivery/idempotency.js";
import { encodeRecord, JOURNAL_MAGIC, scanJournal } from "../../runtime/src/delivery/journal/format.js";
import { type JournalIo, nodeJournalIo } from "../../runtime/src/delivery/journal/io.js";
import { Journal } from "../../runtime/src/delivery/journal/journal.js";
import { JournalCorruptError, JournalFailedError, JournalLockedError } from "../../runtime/src/errors.js";

const root = await mkdtemp(join(tmpdir(), "paynet-journal-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let serial = 0;
const freshPath = () => join(root, `j-${++serial}`);

const bodiesArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 12 });
const fileOf = (bodies: readonly Uint8Array[]) => Buffer.concat([JOURNAL_MAGIC, ...bodies.map(encodeRecord)]);
/** Offsets where each record ends. */
const boundaries = (bodies: readonly Uint8Array[]) => {
  const ends = [JOURNAL_MAGIC.length];
  for (const body of bodies) ends.push(ends.at(-1)! + 8 + body.length);
  return ends;
};

describe("journal format: recovery from a write cut short", () => {
  it("any truncation keeps exactly the complete records before the cut and reports the rest as a torn tail", () => {
    fc.assert(
      fc.property(bodiesArb, fc.nat(), (bodies, seed) => {
        const file = fileOf(bodies);
        const cut = JOURNAL_MAGIC.length + (seed % (file.length - JOURNAL_MAGIC.length + 1));
        const scan = scanJournal(file.subarray(0, cut), "dev.journal");
        const ends = boundaries(bodies);
        const kept = ends.filter((end) => end <= cut).length - 1;
        expect(scan.records.map((r) => Buffer.from(r.body))).toEqual(
          bodies.slice(0, kept).map((b) => Buffer.from(b)),
        );
        expect(scan.end).toBe(ends[kept]);
        if (ends.includes(cut)) expect(scan.tail).toBeUndefined();
        else expect(scan.tail).toMatchObject({ offset: ends[kept], bytes: cut - ends[kept]! });
      }),
    );
  });

  it("a file extended with zeros (power cut) is a torn tail at the last record boundary", () => {
    fc.assert(
      fc.property(bodiesArb, fc.integer({ min: 1, max: 64 }), (bodies, zeros) => {
        const file = Buffer.concat([fileOf(bodies), Buffer.alloc(zeros)]);
        const scan = scanJournal(file, "dev.journal");
        expect(scan.records).toHaveLength(bodies.length);
        expect(scan.tail).toEqual({ offset: boundaries(bodies).at(-1), bytes: zeros, reason: "zero fill" });
      }),
    );
  });

  it("a damaged last record is torn; a damaged earlier one is corruption naming the file and its offset", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        (bodies, which, where) => {
          const ends = boundaries(bodies);
          const index = which % bodies.length;
          const file = fileOf(bodies);
          // Flip one byte of the record's body (its checksum no longer matches).
          const at = ends[index]! + 8 + (where % bodies[index]!.length);
          file[at] = file[at]! ^ 0xff;
          if (index === bodies.length - 1) {
            const scan = scanJournal(file, "dev.journal");
            expect(scan.tail).toEqual({
              offset: ends[index],
              bytes: file.length - ends[index]!,
              reason: "checksum mismatch",
            });
            expect(scan.records).toHaveLength(bodies.length - 1);
          } else {
            let caught: unknown;
            try {
              scanJournal(file, "dev.journal");
            } catch (error) {
              caught = error;
            }
            expect(caught).toBeInstanceOf(JournalCorruptError);
            expect(caught).toMatchObject({
              code: "JOURNAL_CORRUPT",
              file: "dev.journal",
              offset: ends[index],
            });
            expect(String((caught as Error).message)).toContain(
              `dev.journal is corrupt at offset ${ends[index]}`,
            );
          }
        },
      ),
    );
  });

  it("refuses a file that is not a journal, and an impossible record length", () => {
    expect(() => scanJournal(Buffer.from("hello world, not a journal"), "x.journal")).toThrow(
      "journal x.journal is corrupt at offset 0: not a paynet journal (bad header)",
    );
    const file = fileOf([Uint8Array.of(1), Uint8Array.of(2)]);
    file.writeUInt32BE(0xffffffff, JOURNAL_MAGIC.length);
    expect(() => scanJournal(file, "x.journal")).toThrow(
      `journal x.journal is corrupt at offset ${JOURNAL_MAGIC.length}: record length 4294967295 outside`,
    );
  });
});

/** Real node:fs, with every call written to `log`. */
function loggingIo(log: string[]): JournalIo {
  const wrap = (file: Awaited<ReturnType<JournalIo["open"]>>, name: string) => ({
    write: async (bytes: Uint8Array, position: number) => {
      log.push(`write ${name} ${bytes.length}@${position}`);
      await file.write(bytes, position);
    },
    datasync: async () => {
      await file.datasync();
      log.push(`datasync ${name}`);
    },
    truncate: (length: number) => file.truncate(length),
    close: () => file.close(),
  });
  return {
    read: nodeJournalIo.read,
    open: async (path) => wrap(await nodeJournalIo.open(path), "journal"),
    create: async (path) => wrap(await nodeJournalIo.create(path), "new"),
    rename: async (from, to) => {
      await nodeJournalIo.rename(from, to);
      log.push("rename");
    },
    syncDirectory: async (path) => {
      await nodeJournalIo.syncDirectory(path);
      log.push("syncdir");
    },
  };
}

describe("journal writes", () => {
  it("group-commits concurrent appends and resolves each only after the datasync that covers it", async () => {
    const log: string[] = [];
    const path = freshPath();
    await (await Journal.open(path)).journal.close();
    const { journal } = await Journal.open(path, loggingIo(log));
    const appends = Array.from({ length: 50 }, (_, i) =>
      journal.append(Buffer.from(`record ${i}`)).then(() => log.push(`resolved ${i}`)),
    );
    await Promise.all(appends);
    const writes = log.filter((line) => line.startsWith("write"));
    expect(writes.length).toBeLessThan(50);
    for (let i = 0; i < 50; i++) {
      const resolved = log.indexOf(`resolved ${i}`);
      const lastSyncBefore = log.lastIndexOf("datasync journal", resolved);
      let lastWriteBefore = -1;
      for (let at = 0; at < resolved; at++) if (log[at]!.startsWith("write journal")) lastWriteBefore = at;
      expect(lastSyncBefore).toBeGreaterThan(lastWriteBefore);
    }
    expect(journal.records).toBe(50);
    await journal.close();
  });

  it("compacts by writing and syncing a new file, renaming it over the journal, then syncing the directory", async () => {
    const log: string[] = [];
    const path = freshPath();
    const { journal } = await Journal.open(path, loggingIo(log));
    for (let i = 0; i < 5; i++) await journal.append(Buffer.from(`old ${i}`));
    log.length = 0;
    await journal.compact(() => [Buffer.from("live")]);
    expect(log).toEqual(["write new 20@0", "datasync new", "rename", "syncdir"]);
    await journal.append(Buffer.from("after"));
    await journal.close();
    const reopened = await Journal.open(path);
    expect(reopened.records.map((r) => r.body.toString())).toEqual(["live", "after"]);
    await reopened.journal.close();
  });

  it("a compaction cut short before its rename (the new file half written) leaves the journal as it was", async () => {
    const path = freshPath();
    const first = await Journal.open(path);
    for (let i = 0; i < 4; i++) await first.journal.append(Buffer.from(`kept ${i}`));
    await first.journal.close();
    // What a process killed while writing the compacted file leaves next to the journal.
    await writeFile(
      `${path}.new`,
      Buffer.concat([JOURNAL_MAGIC, encodeRecord(Buffer.from("half")).subarray(0, 6)]),
    );
    const reopened = await Journal.open(path);
    expect(reopened.tail).toBeUndefined();
    expect(reopened.records.map((r) => r.body.toString())).toEqual(["kept 0", "kept 1", "kept 2", "kept 3"]);
    // The next compaction writes its own new file over the leftover.
    await reopened.journal.compact(() => [Buffer.from("kept 3")]);
    await reopened.journal.close();
    const compacted = await Journal.open(path);
    expect(compacted.records.map((r) => r.body.toString())).toEqual(["kept 3"]);
    await compacted.journal.close();
  });

  it("a compaction whose rename fails stops the journal and leaves the old file in force", async () => {
    const path = freshPath();
    let failRename = false;
    const io: JournalIo = {
      ...nodeJournalIo,
      rename: async (from, to) => {
        if (from.endsWith(".new") && to === path && failRename) throw new Error("EIO: rename");
        await nodeJournalIo.rename(from, to);
      },
    };
    const { journal } = await Journal.open(path, io);
    await journal.append(Buffer.from("a"));
    await journal.append(Buffer.from("b"));
    failRename = true;
    await expect(journal.compact(() => [Buffer.from("b")])).rejects.toMatchObject({
      code: "JOURNAL_FAILED",
    });
    // Nothing more is written where nobody might read it.
    await expect(journal.append(Buffer.from("c"))).rejects.toThrow(JournalFailedError);
    await journal.close();
    const reopened = await Journal.open(path);
    expect(reopened.records.map((r) => r.body.toString())).toEqual(["a", "b"]);
    await reopened.journal.close();
  });

  it("stops writing after a failed sync: that append and every later one reject, nothing is guessed", async () => {
    let failSync = false;
    const io: JournalIo = {
      ...nodeJournalIo,
      open: async (path) => {
        const file = await nodeJournalIo.open(path);
        return {
          ...file,
          datasync: () => (failSync ? Promise.reject(new Error("EIO: disk gone")) : file.datasync()),
        };
      },
    };
    const path = freshPath();
    await (await Journal.open(path)).journal.close();
    const { journal } = await Journal.open(path, io);
    await journal.append(Buffer.from("ok"));
    failSync = true;
    await expect(journal.append(Buffer.from("lost"))).rejects.toThrow(JournalFailedError);
    failSync = false;
    await expect(journal.append(Buffer.from("later"))).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
    await journal.close();
  });
});

describe("FileIdempotencyStore on disk", () => {
  const record = (n: number, done = true) => ({ replies: [{ type: 0x84, payload: Uint8Array.of(n) }], done });

  it("cuts off a torn last record on open and reports it with the file and offset", async () => {
    const path = freshPath();
    const store = await FileIdempotencyStore.open(path);
    await store.set("paybox.CoinCommand/A-1", record(1));
    await store.set("paybox.CoinCommand/A-2", record(2, false));
    await store.close();
    const intact = (await stat(path)).size;
    // A process killed in the middle of its next append: half a record at the end.
    const torn = encodeRecord(Buffer.from('{"k":"paybox.CoinCommand/A-3","t":1,"d":0,"r":[]}')).subarray(
      0,
      20,
    );
    await appendFile(path, torn);
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
    };
    const reopened = await FileIdempotencyStore.open(path, { logger });
    expect(reopened.recovery).toEqual({ file: path, offset: intact, bytes: 20, reason: "incomplete record" });
    expect(warnings).toEqual([
      {
        fields: { file: path, offset: intact, bytes: 20, reason: "incomplete record" },
        message: `idempotency journal ${path}: torn last record at offset ${intact} (incomplete record, 20 bytes) cut off`,
      },
    ]);
    expect(reopened.get("paybox.CoinCommand/A-1")).toEqual(record(1));
    expect(reopened.get("paybox.CoinCommand/A-2")).toEqual(record(2, false));
    expect(reopened.get("paybox.CoinCommand/A-3")).toBeUndefined();
    expect((await stat(path)).size).toBe(intact);
    await reopened.set("paybox.CoinCommand/A-3", record(3));
    await reopened.close();
    const again = await FileIdempotencyStore.open(path);
    expect(again.recovery).toBeUndefined();
    expect(again.get("paybox.CoinCommand/A-3")).toEqual(record(3));
    await again.close();
  });

  it("refuses a journal damaged before its end, naming the file and the offset, and leaves it as it is", async () => {
    const path = freshPath();
    const store = await FileIdempotencyStore.open(path);
    await store.set("k/1", record(1));
    await store.set("k/2", record(2));
    await store.close();
    const content = await readFile(path);
    content[JOURNAL_MAGIC.length + 10] = content[JOURNAL_MAGIC.length + 10]! ^ 0x01;
    await writeFile(path, content);
    await expect(FileIdempotencyStore.open(path)).rejects.toThrow(
      `journal ${path} is corrupt at offset ${JOURNAL_MAGIC.length}: checksum mismatch before the end of the journal`,
    );
    expect(await readFile(path)).toEqual(content);
    // The refusal released the lock: after repair, the store opens.
    await truncate(path, JOURNAL_MAGIC.length);
    await (await FileIdempotencyStore.open(path)).close();
  });

  it("replays any sequence of updates to the same state after a restart (model check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.constantFrom("a", "b", "c", "d", "e", "f"),
            op: fc.constantFrom("set", "set", "set", "delete"),
            done: fc.boolean(),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { maxLength: 40 },
        ),
        async (ops) => {
          const path = freshPath();
          const store = await FileIdempotencyStore.open(path, { maxEntries: 4 });
          const model = new Map<string, ReturnType<typeof record>>();
          for (const { key, op, done, byte } of ops) {
            if (op === "delete") {
              await store.delete(key);
              model.delete(key);
            } else {
              await store.set(key, record(byte, done));
              model.delete(key);
              model.set(key, record(byte, done));
              while (model.size > 4) model.delete(model.keys().next().value as string);
            }
          }
          await store.close();
          const reopened = await FileIdempotencyStore.open(path, { maxEntries: 4 });
          for (const key of ["a", "b", "c", "d", "e", "f"]) expect(reopened.get(key)).toEqual(model.get(key));
          await reopened.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("stays bounded: compaction keeps the journal proportional to the live records", async () => {
    const path = freshPath();
    const store = await FileIdempotencyStore.open(path, { maxEntries: 20 });
    for (let i = 0; i < 800; i++) await store.set(`k/${i % 50}`, record(i % 256, i % 3 === 0));
    // Compaction runs in the background after the write that crossed the threshold.
    await store.close();
    const reopened = await FileIdempotencyStore.open(path, { maxEntries: 20 });
    expect(reopened.size).toBe(20);
    expect(reopened.journalRecords).toBeLessThanOrEqual(2 * 20 + 256 + 1);
    expect(reopened.journalBytes).toBeLessThan((2 * 20 + 257) * 100);
    for (let i = 780; i < 800; i++) expect(reopened.get(`k/${i % 50}`)).toEqual(record(i % 256, i % 3 === 0));
    await reopened.close();
  });

  it("a failed journal write refuses the command: the guard rejects and nothing runs", async () => {
    const path = freshPath();
    await (await FileIdempotencyStore.open(path)).close();
    const io: JournalIo = {
      ...nodeJournalIo,
      open: async (file) => ({
        ...(await nodeJournalIo.open(file)),
        datasync: () => Promise.reject(new Error("EIO")),
      }),
    };
    const store = await FileIdempotencyStore.open(path, { io });
    const guard = new IdempotencyGuard(store);
    await expect(guard.claim("paybox.CoinCommand/A-1")).rejects.toMatchObject({ code: "JOURNAL_FAILED" });
    await store.close();
  });
});

describe("journal lock", () => {
  it("keeps a second store of this process out of an open journal", async () => {
    const path = freshPath();
    const store = await FileIdempotencyStore.open(path);
    await expect(FileIdempotencyStore.open(path)).rejects.toThrow(JournalLockedError);
    await store.close();
    await (await FileIdempotencyStore.open(path)).close();
  });

  it("refuses a journal whose lock a live process holds, and takes over the lock of a dead one", async () => {
    const path = freshPath();
    // The parent of this test process is alive: its lock must be respected.
    await writeFile(`${path}.lock`, `${process.ppid}\n`);
    await expect(FileIdempotencyStore.open(path)).rejects.toMatchObject({
      code: "JOURNAL_LOCKED",
      holder: process.ppid,
      message: `journal ${path} is locked by process ${process.ppid}: two processes cannot share one journal`,
    });
    // A pid that cannot be running (beyond pid_max): a lock left by a killed process.
    await writeFile(`${path}.lock`, "4194305\n");
    const store = await FileIdempotencyStore.open(path);
    expect((await readFile(`${path}.lock`, "utf8")).trim()).toBe(String(process.pid));
    await store.close();
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
