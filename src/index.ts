/**
 * @packageDocumentation
 * paynet-gen as a library: the same generation `paynet-gen generate` runs, for build scripts.
 */
export { emitSdk } from "./emit/index.js";
export type { EmitOptions, GeneratedFile } from "./emit/types.js";
export {
  checkStale,
  compareOutput,
  type OutputDifference,
  type WriteResult,
  writeGeneratedFiles,
} from "./emit/write.js";
export {
  type GenerateOptions,
  type GenerateResult,
  type GenerateTarget,
  generate,
  generatorVersion,
  type Int64Mode,
  renderSdk,
} from "./generate.js";
