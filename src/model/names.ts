/**
 * TypeScript names of messages and enums, unique across the SDK, and the service name.
 */
import { basename, extname } from "node:path";
import type { DiagnosticBag } from "./diagnostics.js";
import { compareStrings, formatPosition } from "./diagnostics.js";
import type { SourcePosition } from "./types.js";

interface Named {
  readonly fullName: string;
  readonly packageName: string;
  readonly position: SourcePosition;
}

/** `google.protobuf` → `GoogleProtobuf`, `my_pkg.v1` → `MyPkgV1`, `device-01` → `Device01`. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== "")
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}

/**
 * Nested types are joined with `_` (`Outer_Inner`). When types of different packages would get the
 * same name, all of them are prefixed with their PascalCase package (`GoogleProtobuf_Timestamp`).
 * Names still colliding after that are reported.
 */
export function assignTsNames(types: readonly Named[], diagnostics: DiagnosticBag): Map<string, string> {
  const local = (t: Named): string =>
    (t.packageName === "" ? t.fullName : t.fullName.slice(t.packageName.length + 1)).split(".").join("_");
  const groups = new Map<string, Named[]>();
  for (const t of types) {
    const name = local(t);
    groups.set(name, [...(groups.get(name) ?? []), t]);
  }
  const names = new Map<string, string>();
  for (const [name, members] of groups) {
    const packages = new Set(members.map((m) => m.packageName));
    for (const member of members) {
      const prefix =
        packages.size > 1 && member.packageName !== "" ? `${pascalCase(member.packageName)}_` : "";
      names.set(member.fullName, prefix + name);
    }
  }
  const owners = new Map<string, Named>();
  for (const t of [...types].sort((a, b) => compareStrings(a.fullName, b.fullName))) {
    const name = names.get(t.fullName)!;
    const owner = owners.get(name);
    if (owner === undefined) owners.set(name, t);
    else {
      diagnostics.error(
        "ts-name-collision",
        `${t.fullName} and ${owner.fullName} (${formatPosition(owner.position)}) would both be named ${name} in TypeScript; rename one of them`,
        t.position,
      );
    }
  }
  return names;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `--name`, else the first input's package in PascalCase, else the first input's file name. */
export function serviceNameOf(
  explicit: string | undefined,
  firstPackage: string | undefined,
  firstInput: string | undefined,
  diagnostics: DiagnosticBag,
): string {
  if (explicit !== undefined) {
    if (!IDENTIFIER.test(explicit))
      diagnostics.error("invalid-name", `--name "${explicit}" is not a valid TypeScript identifier`);
    return explicit;
  }
  const fromFile = firstInput === undefined ? "" : pascalCase(basename(firstInput, extname(firstInput)));
  const name = firstPackage !== undefined && firstPackage !== "" ? pascalCase(firstPackage) : fromFile;
  const safe = /^[0-9]/.test(name) ? `_${name}` : name;
  return safe === "" ? "Paynet" : safe;
}
