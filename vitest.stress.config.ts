import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { scaled } from "./test/helpers/time.js";

const runtimeSrc = (file: string) => fileURLToPath(new URL(`./runtime/src/${file}`, import.meta.url));
const clusterSrc = fileURLToPath(new URL("./cluster/src/index.ts", import.meta.url));

/**
 * `npm run test:stress`: the reliability suites at full size (test/stress/**), one file at a time so
 * they do not disturb each other, with `--expose-gc` for the memory bounds. `STRESS_LONG=1` makes them
 * longer still. Their short forms run with `npm test` (test/stress-short/**).
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@paynet\/runtime\/protobuf$/, replacement: runtimeSrc("protobuf/index.ts") },
      { find: /^@paynet\/runtime\/testing$/, replacement: runtimeSrc("testing/index.ts") },
      { find: /^@paynet\/runtime\/cluster$/, replacement: runtimeSrc("cluster/index.ts") },
      { find: /^@paynet\/runtime$/, replacement: runtimeSrc("index.ts") },
      { find: /^@paynet\/cluster$/, replacement: clusterSrc },
    ],
  },
  test: {
    include: ["test/stress/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"], singleFork: true } },
    fileParallelism: false,
    testTimeout: scaled(1_800_000),
    hookTimeout: scaled(300_000),
    // expect.poll waits for a condition; its timeout is a safety net like the others (default 1 s).
    expect: { poll: { timeout: scaled(20_000) } },
  },
});
