/** Every idempotency store runs the contract of `@paynet/runtime/testing`. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idempotencyStoreContract } from "@paynet/runtime/testing";
import { afterAll, describe, it } from "vitest";
import { FileIdempotencyStore } from "../../runtime/src/delivery/file-store.js";
import { MemoryIdempotencyStore } from "../../runtime/src/delivery/idempotency.js";
import type { IdempotencyStore } from "../../runtime/src/delivery/types.js";

describe("MemoryIdempotencyStore honours the idempotency store contract", () => {
  for (const check of idempotencyStoreContract({
    open: async (settings) => new MemoryIdempotencyStore(settings),
    close: async () => {},
  })) {
    it(check.name, check.run);
  }
});

describe("FileIdempotencyStore honours the idempotency store contract", async () => {
  const root = await mkdtemp(join(tmpdir(), "paynet-contract-"));
  afterAll(() => rm(root, { recursive: true, force: true }));
  let serial = 0;
  const paths = new WeakMap<IdempotencyStore, string>();
  const open = async (path: string, settings: Parameters<typeof FileIdempotencyStore.open>[1]) => {
    const store = await FileIdempotencyStore.open(path, settings);
    paths.set(store, path);
    return store;
  };
  for (const check of idempotencyStoreContract({
    open: (settings) => open(join(root, `journal-${++serial}`), settings),
    close: (store) => (store as FileIdempotencyStore).close(),
    reopen: async (store, settings) => {
      await (store as FileIdempotencyStore).close();
      return open(paths.get(store)!, settings);
    },
  })) {
    it(check.name, check.run);
  }
});
