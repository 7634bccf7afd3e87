import { createRequire } from "node:module";
import { join } from "node:path";
import { it } from "vitest";
import { loadFixtureFiles, REPO_ROOT, writeGenerated } from "./codec-harness.js";
it("bench", async () => {
  const dir = join(REPO_ROOT, "test/.tmp/bench");
  const { model } = await loadFixtureFiles([join(dir, "paybox.proto")]);
  const sdk = writeGenerated(model, "bench");
  const { readFileSync, writeFileSync } = await import("node:fs");
  if (process.env.NAMED) {
    let text = readFileSync(sdk.codecsPath, "utf8");
    const used = [...new Set([...text.matchAll(/\$pb\.(\w+)/g)].map((m) => m[1]))].sort();
    text = text.replace('import * as $pb from "@paynet/runtime/protobuf";', `import { ${used.map((u) => `${u} as $${u}`).join(", ")} } from "@paynet/runtime/protobuf";`).replace(/\$pb\./g, "$");
    writeFileSync(sdk.codecsPath, text);
  }
  const { codecs } = await import(sdk.codecsPath);
  const st = createRequire(import.meta.url)(join(dir, "static.cjs")).paybox;
  const Long = (await import("long")).default;
  const cases = {
    CoinAck: [{ orderId: "ORD-20240101-000123", state: 1, progress: 42, error: "" }, { orderId: "ORD-20240101-000123", state: 1, progress: 42 }],
    Ping: [{ timestamp: 1732500000000n, uptime: 3600, signal: -70, ip: "10.0.0.1" }, { timestamp: Long.fromNumber(1732500000000, true), uptime: 3600, signal: -70, ip: "10.0.0.1" }],
    Mixed: [{ orderId: "abc", ts: 1732500000000n, amount: -12345n, samples: [1,2,3,400,5000], labels: { a: "x", b: "y" }, ack: { orderId: "o", state: 2, progress: 100, error: "" }, blob: new Uint8Array(16), ratio: 0.5 },
            { orderId: "abc", ts: Long.fromNumber(1732500000000, true), amount: Long.fromNumber(-12345), samples: [1,2,3,400,5000], labels: { a: "x", b: "y" }, ack: { orderId: "o", state: 2, progress: 100 }, blob: new Uint8Array(16), ratio: 0.5 }],
  } as const;
  for (const [name, [ours, theirs]] of Object.entries(cases)) {
    const c = codecs[name]; const S = st[name];
    const N = 300_000;
    const time = (f: () => void) => { for (let i = 0; i < 20000; i++) f(); const t = performance.now(); for (let i = 0; i < N; i++) f(); return performance.now() - t; };
    const bytes = c.encode(ours);
    const res: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      res.encOurs = Math.min(res.encOurs ?? 1e9, time(() => c.encode(ours)));
      res.encPbjs = Math.min(res.encPbjs ?? 1e9, time(() => S.encode(theirs).finish()));
      res.decOurs = Math.min(res.decOurs ?? 1e9, time(() => c.decode(bytes)));
      res.decPbjs = Math.min(res.decPbjs ?? 1e9, time(() => S.decode(bytes)));
    }
    console.log(name, Buffer.from(bytes).equals(S.encode(theirs).finish()), "encode ratio(pbjs/ours)", (res.encPbjs / res.encOurs).toFixed(2), "decode ratio", (res.decPbjs / res.decOurs).toFixed(2), JSON.stringify(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(v)]))));
  }
  sdk.remove();
}, 300_000);
