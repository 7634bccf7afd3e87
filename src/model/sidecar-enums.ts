/**
 * The `enums:` section of the sidecar map: which values of an enum mark a final reply, as
 * `[(paynet.final) = true]` does in a proto.
 *
 * ```yaml
 * enums:
 *   CoinState: { final: [COIN_DONE, COIN_FAILED] }
 * ```
 */
import { isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import type { SourcePosition } from "./types.js";

/** One enum of the sidecar's `enums:` section. */
export interface SidecarEnumEntry {
  /** The enum name as written. */
  readonly name: string;
  readonly position: SourcePosition;
  /** The final values, with where each is named, and where the list is. */
  readonly final?: {
    readonly values: readonly { readonly name: string; readonly position: SourcePosition }[];
    readonly position: SourcePosition;
  };
}

const NAME = /^\.?[A-Za-z_][\w.]*$/;
const VALUE = /^[A-Za-z_]\w*$/;

/** Parses the value of `enums:`; shape errors go to `invalid` and the faulty parts are skipped. */
export function parseSidecarEnums(
  node: Node | null,
  keyPosition: SourcePosition,
  nodeAt: (node: Node | null | undefined, fallback: number) => SourcePosition,
  invalid: (message: string, position: SourcePosition) => void,
): SidecarEnumEntry[] {
  if (!isMap(node)) {
    invalid(
      "`enums` must map enum names to their annotations, like CoinState: { final: [COIN_DONE] }",
      keyPosition,
    );
    return [];
  }
  const entries: SidecarEnumEntry[] = [];
  for (const pair of node.items as Pair<Node, Node>[]) {
    const name = isScalar(pair.key) && typeof pair.key.value === "string" ? pair.key.value : undefined;
    const position = nodeAt(pair.key, 0);
    if (name === undefined || !NAME.test(name)) {
      invalid("enum names must be protobuf names like `CoinState` or `paybox.CoinState`", position);
      continue;
    }
    if (!isMap(pair.value)) {
      invalid(
        `annotations of enum ${name} must be a mapping like { final: [COIN_DONE] }`,
        nodeAt(pair.value, 0),
      );
      continue;
    }
    let final: SidecarEnumEntry["final"];
    for (const annotation of pair.value.items as Pair<Node, Node>[]) {
      const key = isScalar(annotation.key) ? String(annotation.key.value) : "?";
      if (key !== "final") {
        invalid(`unknown annotation \`${key}\` for enum ${name} (expected final)`, nodeAt(annotation.key, 0));
        continue;
      }
      const listPosition = nodeAt(annotation.value ?? annotation.key, 0);
      if (!isSeq(annotation.value)) {
        invalid(
          `final of enum ${name} must be a list of its values, like [COIN_DONE, COIN_FAILED]`,
          listPosition,
        );
        continue;
      }
      const values: { name: string; position: SourcePosition }[] = [];
      for (const item of annotation.value.items as Node[]) {
        const value = isScalar(item) && typeof item.value === "string" ? item.value : undefined;
        if (value === undefined || !VALUE.test(value)) {
          invalid(`final values of enum ${name} must be value names like COIN_DONE`, nodeAt(item, 0));
          continue;
        }
        if (values.some((earlier) => earlier.name === value)) {
          invalid(`final value ${value} of enum ${name} is listed twice`, nodeAt(item, 0));
          continue;
        }
        values.push({ name: value, position: nodeAt(item, 0) });
      }
      final = { values, position: listPosition };
    }
    entries.push(final === undefined ? { name, position } : { name, position, final });
  }
  return entries;
}
