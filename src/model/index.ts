/**
 * The model layer of paynet-gen: `.proto` files (+ sidecar map) → validated `ProtoModel`.
 */
export { formatDiagnostic } from "./diagnostics.js";
export { type LoadOptions, type LoadResult, loadModel } from "./load.js";
export { PAYNET_PROTO_DIR } from "./paths.js";
export type * from "./types.js";
