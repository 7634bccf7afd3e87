/**
 * Shared shapes of the emitters: every emitter is a pure function `(model, options) → GeneratedFile`.
 */

/** One file of the generated SDK, path relative to `--out` (`/`-separated). */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** Knobs of one generator run. */
export interface EmitOptions {
  /** Which facades to emit: `server` omits the client facade and vice versa. */
  readonly target: "server" | "client" | "both";
  /** TypeScript representation of 64-bit integer fields. */
  readonly int64: "bigint" | "string";
  /** Version written into every file header (package.json version of paynet-gen). */
  readonly generatorVersion: string;
}
