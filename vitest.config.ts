import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { scaled } from "./test/helpers/time.js";

const runtimeSrc = (file: string) => fileURLToPath(new URL(`./runtime/src/${file}`, import.meta.url));
const clusterSrc = fileURLToPath(new URL("./cluster/src/index.ts", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the runtime's sources; `npm run build` still type-checks the published output.
    alias: [
      { find: /^@paynet\/runtime\/protobuf$/, replacement: runtimeSrc("protobuf/index.ts") },
      { find: /^@paynet\/runtime\/testing$/, replacement: runtimeSrc("testing/index.ts") },
      { find: /^@paynet\/runtime\/cluster$/, replacement: runtimeSrc("cluster/index.ts") },
      { find: /^@paynet\/runtime$/, replacement: runtimeSrc("index.ts") },
      { find: /^@paynet\/cluster$/, replacement: clusterSrc },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/stress/**", "**/node_modules/**"],
    pool: "forks",
    // Most suites wait on sockets and child processes, so one worker per core keeps a 2-core machine
    // busy where vitest's default (cores - 1) would run the files one at a time.
    // PAYNET_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.PAYNET_TEST_WORKERS ?? Math.max(2, availableParallelism() - 1)),
    minWorkers: 1,
    // Safety nets only (tests wait for events): far above an idle machine's needs, so a loaded one
    // (2 cores shared by several suites, CI runners) does not fail them; PAYNET_TEST_TIME_FACTOR scales.
    testTimeout: scaled(120_000),
    hookTimeout: scaled(120_000),
    // expect.poll waits for a condition; its timeout is a safety net like the others (default 1 s).
    expect: { poll: { timeout: scaled(20_000) } },
  },
});
