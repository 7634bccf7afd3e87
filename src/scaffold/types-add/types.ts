/** What `types add` is given and answers, and what its steps hand each other. */
import type { AnnotationPatch, AnnotationSpec } from "../../model/edit.js";
import type { Diagnostic, MessageModel, ProtoModel, WireInfo } from "../../model/types.js";
import type { ModelSources } from "../project-model.js";
import type { TypeRow } from "../type-table.js";

export interface TypesAddOptions {
  readonly sources: ModelSources;
  readonly message: string;
  /**
   * The flags given. `type` is needed unless `force` updates an existing annotation; `direction` is
   * inferred when unambiguous (see `typesAdd`).
   */
  readonly spec: AnnotationPatch;
  /** Edit the sidecar map (`sources.map`) instead of the .proto defining the message. */
  readonly target: "proto" | "map";
  readonly force?: boolean;
}

/** One key of an annotation that `--force` changed, as shown to the user. */
export interface AnnotationChange {
  readonly key: keyof AnnotationSpec;
  /** Before (`undefined`: not set). */
  readonly from: string | undefined;
  /** After (`undefined`: removed; never, as flags only set keys). */
  readonly to: string | undefined;
}

export interface TypesAddResult {
  /** The file written (absolute); not touched when `unchanged`. */
  readonly file: string;
  /** The message's row in the new Type table. */
  readonly row: TypeRow;
  /** Warnings of the validating load. */
  readonly warnings: readonly Diagnostic[];
  /** Why the direction was inferred, when `--direction` was not given. */
  readonly inferred?: string;
  /** With `--force` on an annotated message: the keys that changed, and the ones kept as they were. */
  readonly update?: {
    readonly changed: readonly AnnotationChange[];
    readonly kept: readonly AnnotationChange[];
  };
  /** The annotation was already exactly this: nothing written. */
  readonly unchanged: boolean;
}

/** The message to annotate: where it is defined and how the edits name it. */
export interface Target {
  /** `paybox.CoinAck` when known from the model, else the name as given. */
  readonly fullName: string;
  /** The defining .proto (absolute), when known. */
  readonly file: string | undefined;
  /** Name for `annotateProto` (full or package-relative). */
  readonly protoName: string;
  /** Key of the entry in the sidecar map. */
  readonly sidecarName: string;
  /** The current model and the message in it, when the sources load. */
  readonly model?: ProtoModel;
  readonly message?: MessageModel;
  /** The message's current annotation. */
  readonly current?: WireInfo;
}

/** What to write: the patch for the edit, the whole resulting annotation, and how it came about. */
export interface Plan {
  /** Keys to write (the flags, plus an inferred direction). */
  readonly patch: AnnotationPatch;
  /** The annotation as it will be. */
  readonly spec: AnnotationSpec;
  /** Whether the edited file holds the current annotation (then the patch is merged into it). */
  readonly merge: boolean;
  readonly inferred?: string;
  readonly update?: TypesAddResult["update"];
}

/** The text edit made, not yet written. */
export interface Edit {
  /** The file to change (absolute). */
  readonly file: string;
  /** Its content before the edit. */
  readonly original: string;
  readonly content: string;
  readonly kind: "proto" | "map";
}
