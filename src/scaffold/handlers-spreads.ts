/**
 * The spread elements of a handlers object (`...base`): which keys each brings, from the TypeScript
 * type checker, and whether a new handler can be added next to them without being overridden.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Node, Project, type Type, ts } from "ts-morph";
import type { IndexInfo } from "./handlers-index.js";
import { requireHandlersObject } from "./handlers-object.js";

/**
 * A spread element of the handlers object (`...base`). Its keys come from the type checker; a key
 * that is optional in the spread's type may or may not be there at run time.
 */
export interface IndexSpread {
  /** The spread expression as written (`base`). */
  readonly text: string;
  /** Keys the spread always brings; `undefined` when its type could not be resolved. */
  readonly keys: ReadonlySet<string> | undefined;
  /** Keys it may bring (optional in its type). */
  readonly maybe: ReadonlySet<string>;
  /** Whether it may bring keys the type does not name (an index signature). */
  readonly open: boolean;
}

/**
 * Keys of the handlers object's spread elements, from the TypeScript type checker run over the real
 * files around `path` (so `...base` imported from `./base.js` resolves), with the project's
 * tsconfig.json when there is one.
 */
export function resolveSpreads(
  text: string,
  path: string,
  typeName: string,
  factoryName: string,
): IndexSpread[] {
  const absolute = resolve(path);
  const tsConfigFilePath = findUp(dirname(absolute), "tsconfig.json");
  const project =
    tsConfigFilePath === undefined
      ? new Project({
          skipAddingFilesFromTsConfig: true,
          compilerOptions: {
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.NodeNext,
            moduleResolution: ts.ModuleResolutionKind.NodeNext,
            strict: true,
          },
        })
      : new Project({ tsConfigFilePath, skipAddingFilesFromTsConfig: true });
  const file = project.createSourceFile(absolute, text, { overwrite: true });
  project.resolveSourceFileDependencies();
  const literal = requireHandlersObject(file, path, typeName, factoryName);
  return literal
    .getProperties()
    .filter(Node.isSpreadAssignment)
    .map((spread) => {
      const expression = spread.getExpression();
      return { text: expression.getText(), ...spreadKeys(expression.getType()) };
    });
}

function spreadKeys(type: Type): Omit<IndexSpread, "text"> {
  const unresolved = { keys: undefined, maybe: new Set<string>(), open: true };
  if (type.isAny() || type.isUnknown()) return unresolved;
  if (type.isUnion()) {
    // `...(cond ? base : {})`, `...(cond && base)`: a key is sure only when every member brings it.
    const members = type.getUnionTypes();
    const objects = members.filter(
      (member) =>
        !(member.isUndefined() || member.isNull() || member.isBoolean() || member.isBooleanLiteral()),
    );
    const parts = objects.map(spreadKeys);
    if (parts.some((part) => part.keys === undefined)) return unresolved;
    const named = new Set(parts.flatMap((part) => [...part.keys!, ...part.maybe]));
    const keys = new Set(
      [...named].filter(
        (key) => objects.length === members.length && parts.every((part) => part.keys!.has(key)),
      ),
    );
    return {
      keys,
      maybe: new Set([...named].filter((key) => !keys.has(key))),
      open: parts.some((part) => part.open),
    };
  }
  if (!type.isObject()) return unresolved;
  const keys = new Set<string>();
  const maybe = new Set<string>();
  for (const symbol of type.getProperties()) {
    (symbol.hasFlags(ts.SymbolFlags.Optional) ? maybe : keys).add(symbol.getName());
  }
  const open = type.getStringIndexType() !== undefined;
  return { keys, maybe, open };
}

function findUp(dir: string, name: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const candidate = join(current, name);
    if (existsSync(candidate)) return candidate;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * Why `property` cannot be added safely next to the spreads of the handlers object (a spread that
 * may already hold it, or whose keys are unknown), or `undefined` when it can.
 */
export function spreadConflict(info: IndexInfo, path: string, property: string): string | undefined {
  for (const spread of info.spreads) {
    const reason =
      spread.keys === undefined
        ? `whose keys cannot be determined (its type did not resolve)`
        : spread.maybe.has(property)
          ? `whose type declares ${property} as optional, so it may already hold a handler for it`
          : spread.open
            ? `whose type has an index signature, so it may already hold a handler for ${property}`
            : undefined;
    if (reason !== undefined) {
      return `the handlers object in ${path} spreads \`${spread.text}\`, ${reason}; add ${property} by hand or remove the spread`;
    }
  }
  return undefined;
}
