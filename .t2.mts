import { existsSync } from "node:fs";
import { readdirSync } from "node:fs";
import { loadModel, formatDiagnostic } from "./src/model/index.js";
const dir = "test/fixtures/protos/errors";
for (const f of readdirSync(dir).filter(f => f.endsWith(".proto") && !f.includes("-dep")).sort()) {
  const base = f.slice(0, -6);
  const yaml = `${dir}/${base}.yaml`;
  const r = await loadModel({ inputs: [`${dir}/${f}`], ...(existsSync(yaml) ? { mapFile: yaml } : {}) });
  console.log(`== ${base} (model ${r.model ? "yes" : "no"})`);
  for (const d of r.diagnostics) console.log(formatDiagnostic(d));
}
