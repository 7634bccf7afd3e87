/**
 * One owner per journal: a lock file next to it (`<journal>.lock`) holding the owner's pid, created
 * exclusively. A lock left by a process that no longer exists (killed, crashed) is taken over; a
 * live owner's is refused with `JournalLockedError`. Node has no `flock`, hence the pid check.
 */
import { link, open, readFile, unlink } from "node:fs/promises";
import { JournalLockedError } from "../../errors.js";

/** Lock files held by this process, so a second store on the same journal here is refused too. */
const heldHere = new Set<string>();

/** A held journal lock; `release()` removes the lock file. */
export interface JournalLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Takes the lock of `journalPath`. Throws {@link JournalLockedError} when someone alive holds it. */
export async function lockJournal(journalPath: string): Promise<JournalLock> {
  const path = `${journalPath}.lock`;
  if (heldHere.has(path)) throw new JournalLockedError(journalPath, process.pid);
  // Claimed synchronously: a second store of this process opening the same journal meanwhile is refused.
  heldHere.add(path);
  try {
    await takeLock(journalPath, path);
  } catch (error) {
    heldHere.delete(path);
    throw error;
  }
  return {
    path,
    release: async () => {
      if (!heldHere.delete(path)) return;
      await unlink(path).catch(() => {});
    },
  };
}

async function takeLock(journalPath: string, path: string): Promise<void> {
  // Written aside and linked into place, so a lock file never exists without its pid in it.
  const mine = `${path}.${process.pid}.tmp`;
  const handle = await open(mine, "w", 0o600);
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(mine, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readHolder(path);
      if (attempt >= 3 || (holder !== undefined && isAlive(holder))) {
        throw new JournalLockedError(journalPath, holder);
      }
      // The owner is gone: the lock is stale. Take it over.
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  } finally {
    await unlink(mine).catch(() => {});
  }
}

async function readHolder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  // Our own pid in a lock we do not hold: a previous process of ours whose pid was reused.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
