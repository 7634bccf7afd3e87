/**
 * The protobuf names of all loaded files, and type-reference resolution with protobuf scoping
 * (innermost scope first; a leading dot makes a name absolute).
 */
import protobuf from "protobufjs";
import type { DiagnosticBag } from "./diagnostics.js";
import { formatPosition } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";
import type { SourcePosition } from "./types.js";

interface SymbolBase {
  /** Without leading dot: `pkg.Outer.Inner`. */
  readonly fullName: string;
  readonly file: ProtoFile;
  /** Full name of the enclosing message, when nested. */
  readonly parent?: string;
  readonly position: SourcePosition;
}

export interface MessageSymbol extends SymbolBase {
  readonly kind: "message";
  readonly type: protobuf.Type;
}

export interface EnumSymbol extends SymbolBase {
  readonly kind: "enum";
  readonly enumType: protobuf.Enum;
}

export type TypeSymbol = MessageSymbol | EnumSymbol;

export class SymbolTable {
  private readonly symbols = new Map<string, TypeSymbol>();

  /** Collects the messages and enums of `files`; a name defined twice is reported. */
  constructor(files: readonly ProtoFile[], diagnostics: DiagnosticBag) {
    for (const file of files) this.collect(file, file.proto.root, undefined, diagnostics);
  }

  get(fullName: string): TypeSymbol | undefined {
    return this.symbols.get(fullName);
  }

  all(): IterableIterator<TypeSymbol> {
    return this.symbols.values();
  }

  /**
   * Resolves a reference written in `scope` (a package or message full name): `Foo.Bar` in scope
   * `a.b.M` tries `a.b.M.Foo.Bar`, `a.b.Foo.Bar`, `a.Foo.Bar`, then `Foo.Bar`.
   */
  resolve(reference: string, scope: string): TypeSymbol | undefined {
    if (reference.startsWith(".")) return this.symbols.get(reference.slice(1));
    const parts = scope === "" ? [] : scope.split(".");
    for (let k = parts.length; k >= 0; k--) {
      const prefix = parts.slice(0, k).join(".");
      const found = this.symbols.get(prefix === "" ? reference : `${prefix}.${reference}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private collect(
    file: ProtoFile,
    namespace: protobuf.NamespaceBase,
    parent: string | undefined,
    diagnostics: DiagnosticBag,
  ): void {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const fullName = nested.fullName.slice(1);
        this.add(
          {
            kind: "message",
            fullName,
            file,
            type: nested,
            position: declarationPosition(file, fullName),
            ...parentOf(parent),
          },
          diagnostics,
        );
        this.collect(file, nested, fullName, diagnostics);
      } else if (nested instanceof protobuf.Enum) {
        const fullName = nested.fullName.slice(1);
        this.add(
          {
            kind: "enum",
            fullName,
            file,
            enumType: nested,
            position: declarationPosition(file, fullName),
            ...parentOf(parent),
          },
          diagnostics,
        );
      } else if (nested instanceof protobuf.Namespace && !(nested instanceof protobuf.Service)) {
        this.collect(file, nested, undefined, diagnostics);
      }
    }
  }

  private add(symbol: TypeSymbol, diagnostics: DiagnosticBag): void {
    const existing = this.symbols.get(symbol.fullName);
    if (existing === undefined) {
      this.symbols.set(symbol.fullName, symbol);
      return;
    }
    diagnostics.error(
      "duplicate-name",
      `${symbol.fullName} is already defined at ${formatPosition(existing.position)}`,
      symbol.position,
    );
  }
}

function parentOf(parent: string | undefined): { parent?: string } {
  return parent === undefined ? {} : { parent };
}

/** Where `fullName` is declared in `file` (start of the file when the index does not know it). */
export function declarationPosition(file: ProtoFile, fullName: string): SourcePosition {
  const place = file.proto.index?.declarations.get(fullName)?.place ?? { line: 1, column: 1 };
  return positionIn(file, place);
}
