import { loadModel, formatDiagnostic } from "./src/model/index.js";
const r = await loadModel({ inputs: ["test/fixtures/protos/several-errors/main.proto", "test/fixtures/protos/several-errors/broken.proto"], mapFile: "test/fixtures/protos/several-errors/main.map.yaml" });
r.diagnostics.forEach(d => console.log(formatDiagnostic(d)));
