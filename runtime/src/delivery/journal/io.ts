/**
 * The file operations a journal uses, as one seam: the real one is node:fs; a test wraps it to see
 * the order of writes and syncs, or to make one of them fail.
 */
import { open, readFile, rename } from "node:fs/promises";

/** An open journal file. Writes are positional and complete (a short write is retried). */
export interface JournalFile {
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** fdatasync: the written bytes (and the size) are on disk when it resolves. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** See the module comment. */
export interface JournalIo {
  /** The whole file, or `undefined` when it does not exist. */
  read(path: string): Promise<Buffer | undefined>;
  /** Opens an existing file for reading and writing. */
  open(path: string): Promise<JournalFile>;
  /** Creates (or empties) a file for writing, mode 0600. */
  create(path: string): Promise<JournalFile>;
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, so a file created or renamed in it survives a power cut. */
  syncDirectory(path: string): Promise<void>;
}

/** {@link JournalIo} on node:fs. */
export const nodeJournalIo: JournalIo = {
  async read(path) {
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  open: async (path) => fileOf(await open(path, "r+")),
  create: async (path) => fileOf(await open(path, "w", 0o600)),
  rename,
  async syncDirectory(path) {
    const directory = await open(path, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  },
};

function fileOf(handle: Awaited<ReturnType<typeof open>>): JournalFile {
  return {
    async write(bytes, position) {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
        done += bytesWritten;
      }
    },
    datasync: () => handle.datasync(),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  };
}
