import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const runtimeSrc = (file: string) => fileURLToPath(new URL(`./runtime/src/${file}`, import.meta.url));
const clusterSrc = fileURLToPath(new URL("./cluster/src/index.ts", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the runtime's sources; `npm run build` still type-checks the published output.
    alias: [
      { find: /^@paynet\/runtime\/protobuf$/, replacement: runtimeSrc("protobuf.ts") },
      { find: /^@paynet\/runtime\/testing$/, replacement: runtimeSrc("testing/index.ts") },
      { find: /^@paynet\/runtime$/, replacement: runtimeSrc("index.ts") },
      { find: /^@paynet\/cluster$/, replacement: clusterSrc },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/stress/**", "**/node_modules/**"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
