/**
 * The device's record of executed commands: a journal in its data directory, so an order the box
 * dispensed (or was dispensing when it lost power) is never dispensed again after a restart.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FileIdempotencyStore, type PaynetError } from "@paynet/runtime";
import { ExampleError } from "../shared/errors.js";
import type { Log } from "../shared/log.js";

/** Opens `<dataDir>/commands.journal` (creating the directory). Throws `DATA_DIR` naming the problem. */
export async function openCommandRecord(dataDir: string, log: Log): Promise<FileIdempotencyStore> {
  const path = join(dataDir, "commands.journal");
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const store = await FileIdempotencyStore.open(path);
    if (store.recovery !== undefined) {
      log.warn(
        `${path}: torn last record at offset ${store.recovery.offset} (${store.recovery.reason}) cut off; it belonged to a write that never completed`,
      );
    }
    log.info(`record of executed commands: ${path} (${store.size} remembered)`);
    return store;
  } catch (error) {
    const code = (error as PaynetError).code;
    const hint =
      code === "JOURNAL_LOCKED"
        ? "; another paynetcli with this serial is running here, or pass --data DIR"
        : code === "JOURNAL_CORRUPT"
          ? "; reconcile the device's orders, then move the file aside to start a new record"
          : "";
    throw new ExampleError("DATA_DIR", `${error instanceof Error ? error.message : String(error)}${hint}`, {
      cause: error,
    });
  }
}
