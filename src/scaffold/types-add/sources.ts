/**
 * The user's files `types add` works from, each read once, as they were when the command started:
 * the input protos and the sidecar map. Finding the message, inferring its direction, the edit and
 * the validating load of the edited copies all see the same texts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DiagnosticBag } from "../../model/diagnostics.js";
import { locate, readPackage } from "../../model/proto-text.js";
import { parseSidecar, type Sidecar } from "../../model/sidecar.js";
import type { ModelSources } from "../project-model.js";

export class SourceTexts {
  readonly sources: ModelSources;
  /** The input protos, absolute, in the order given. */
  readonly inputs: readonly string[];
  /** The sidecar map, absolute, when one is given. */
  readonly mapFile: string | undefined;
  readonly #texts = new Map<string, string | undefined>();
  #sidecar: { parsed: Sidecar | undefined } | undefined;

  constructor(sources: ModelSources) {
    this.sources = sources;
    this.inputs = sources.inputs.map((input) => resolve(sources.cwd, input));
    this.mapFile = sources.map === undefined ? undefined : resolve(sources.cwd, sources.map);
  }

  /** The content of `file` (absolute); `undefined` when it does not exist. */
  text(file: string): string | undefined {
    if (!this.#texts.has(file)) this.#texts.set(file, readIfExists(file));
    return this.#texts.get(file);
  }

  /** The package the proto `file` declares, if it exists and declares one. */
  protoPackage(file: string): string | undefined {
    const text = this.text(file);
    return text === undefined ? undefined : readPackage(locate(text));
  }

  /**
   * The sidecar map, read by the model's own sidecar parser; `undefined` without a map file. Its
   * shape errors are left out here: the validating load reports them, positioned.
   */
  sidecar(): Sidecar | undefined {
    if (this.#sidecar === undefined) {
      const text = this.mapFile === undefined ? undefined : this.text(this.mapFile);
      this.#sidecar = {
        parsed: text === undefined ? undefined : parseSidecar(text, this.mapFile ?? "", new DiagnosticBag()),
      };
    }
    return this.#sidecar.parsed;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
