/**
 * The API report of a package: for each entry point of its `package.json` `exports`, the exported
 * names with their kind, and the public members of exported classes, one per line, sorted. Read
 * from the sources with the TypeScript checker, as a user of the built declarations sees them:
 * `#private`/`private`/`protected` members and declarations tagged `@internal` (which
 * `stripInternal` leaves out of `dist`) are not part of it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

/** One entry point: its subpath (`.`, `./protobuf`, ...) and source file. */
export interface EntryPoint {
  readonly subpath: string;
  readonly source: string;
}

/**
 * The entry points of the package in `packageDir`, from its `exports` map: `./dist/x/index.js`
 * is built from `./src/x/index.ts`.
 */
export function entryPoints(packageDir: string): EntryPoint[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    exports: Record<string, { default: string }>;
  };
  return Object.entries(manifest.exports).map(([subpath, target]) => ({
    subpath,
    source: join(packageDir, target.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")),
  }));
}

/** The report lines of each entry point, by subpath. */
export function apiReports(entries: readonly EntryPoint[]): Map<string, string[]> {
  const program = ts.createProgram(
    entries.map((entry) => entry.source),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
    },
  );
  const checker = program.getTypeChecker();
  const reports = new Map<string, string[]>();
  for (const entry of entries) {
    const file = program.getSourceFile(entry.source);
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`${entry.source}: not a module`);
    const lines: string[] = [];
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      lines.push(`${kindOf(target)} ${exported.name}`);
      if (target.flags & ts.SymbolFlags.Class) {
        for (const { member, isStatic } of classMembers(target)) {
          lines.push(`${isStatic ? "static " : ""}${kindOf(member)} ${exported.name}.${member.name}`);
        }
      }
    }
    reports.set(entry.subpath, lines.sort(byName));
  }
  return reports;
}

/** Lines sorted by name (the last word), so that a class's members follow it. */
function byName(a: string, b: string): number {
  const nameA = a.slice(a.lastIndexOf(" ") + 1);
  const nameB = b.slice(b.lastIndexOf(" ") + 1);
  return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
}

function kindOf(symbol: ts.Symbol): string {
  const flags = symbol.flags;
  if (flags & ts.SymbolFlags.Class) return "class";
  if (flags & ts.SymbolFlags.Function) return "function";
  if (flags & ts.SymbolFlags.Enum) return "enum";
  if (flags & ts.SymbolFlags.Variable) return "const";
  if (flags & ts.SymbolFlags.Interface) return "interface";
  if (flags & ts.SymbolFlags.TypeAlias) return "type";
  if (flags & ts.SymbolFlags.Method) return "method";
  if (flags & ts.SymbolFlags.Property) return "property";
  if (flags & ts.SymbolFlags.Accessor) return "accessor";
  if (flags & ts.SymbolFlags.Namespace) return "namespace";
  return "other";
}

/** Public members the class declares itself (inherited ones are reported with their own class). */
function classMembers(cls: ts.Symbol): { member: ts.Symbol; isStatic: boolean }[] {
  const members: { member: ts.Symbol; isStatic: boolean }[] = [];
  const collect = (table: ts.SymbolTable | undefined, isStatic: boolean) => {
    table?.forEach((member) => {
      if (!(member.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.Property | ts.SymbolFlags.Accessor)))
        return;
      if (member.name === "prototype") return;
      const declaration = member.declarations?.[0];
      if (declaration === undefined) return;
      const name = ts.getNameOfDeclaration(declaration);
      if (name !== undefined && ts.isPrivateIdentifier(name)) return;
      if (ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))
        return;
      if (ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === "internal")) return;
      members.push({ member, isStatic });
    });
  };
  collect(cls.members, false);
  collect(cls.exports, true);
  return members;
}
