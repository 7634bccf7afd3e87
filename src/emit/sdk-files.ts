/**
 * The file layout of a generated SDK, in one place: the emitters import each other's modules through
 * these names, so renaming an output file is a one-line change here (or, for the message types and
 * codecs, in the messages emitter, which owns those two paths).
 */
import { CODECS_PATH, MESSAGE_TYPES_PATH } from "./messages.js";

/** Output file of each generated module, relative to `--out`. */
export const SDK_FILES = {
  /** Message interfaces, `createX()` factories and enums (messages emitter). */
  types: MESSAGE_TYPES_PATH,
  /** Static codecs (messages emitter). */
  codecs: CODECS_PATH,
  /** Type-ID map and per-direction tables. */
  ids: "message-ids.ts",
  /** `MessageDef`s and `RequestSpec`s. */
  defs: "defs.ts",
  /** Handler interfaces and contexts per side. */
  handlers: "handlers.ts",
  /** Registration of codecs and handlers into the runtime registries. */
  dispatch: "dispatch.ts",
  /** Cloud-side facade (`--target server|both`). */
  server: "server.ts",
  /** Device-side facade (`--target client|both`). */
  client: "client.ts",
  /** Re-exports everything. */
  index: "index.ts",
} as const;

export type SdkModule = keyof typeof SDK_FILES;

/** ESM import specifier of a generated module from a sibling module: `types.ts` → `./types.js`. */
export function moduleSpecifier(module: SdkModule): string {
  return `./${SDK_FILES[module].replace(/\.ts$/, ".js")}`;
}
