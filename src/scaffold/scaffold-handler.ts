/**
 * `paynet-gen scaffold handler`: writes typed handler stubs into a project and registers them in the
 * side's handlers index. Never overwrites a file; running it twice changes nothing the second time.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Project } from "ts-morph";
import { formatDiagnostic } from "../model/diagnostics.js";
import type { Direction, WireMessage } from "../model/types.js";
import { readProjectLayout, type Side } from "./config.js";
import { ScaffoldError } from "./errors.js";
import { facadeFactoryName, handlerInterfaceName, renderHandlerStub } from "./handler-stub.js";
import { type HandlerEntry, inspectIndex, registerHandlers, spreadConflict } from "./handlers-index.js";
import { camelCase, kebabCase } from "./names.js";
import { findMessage, loadProjectModel, requireWire } from "./project-model.js";

export interface ScaffoldHandlerOptions {
  /** Directory inside the project (its package.json is found from here). Default: `process.cwd()`. */
  readonly project?: string;
  /** Message to scaffold; omitted with `all`. */
  readonly message?: string;
  /** Every message of the side without a handler. */
  readonly all?: boolean;
  readonly side?: Side;
  /** Handlers directory (holding `index.ts`), overriding package.json. */
  readonly dir?: string;
  /** Overrides of the package.json `paynet` block. */
  readonly proto?: readonly string[];
  readonly protoPaths?: readonly string[];
  readonly map?: string;
  readonly sdk?: string;
}

/** What one run did, for the command to print. */
export interface ScaffoldHandlerResult {
  readonly side: Side;
  readonly indexPath: string;
  /** Handler files written (absolute paths). */
  readonly created: readonly string[];
  /** Handler properties added to the index. */
  readonly registered: readonly string[];
  /** Messages left alone because there is nothing to do for them (already handled, a reply under --all). */
  readonly skipped: ReadonlyArray<{ readonly message: string; readonly reason: string }>;
  /**
   * Messages that were asked for but could not be registered (a file in the way that does not export
   * the handler, a name already taken); the command fails when this is not empty.
   */
  readonly unregistered: ReadonlyArray<{ readonly message: string; readonly reason: string }>;
  /** Non-fatal remarks (proto warnings, a stale SDK). */
  readonly notes: readonly string[];
}

const DIRECTION_TEXT: Record<Direction, string> = {
  up: "device → cloud",
  down: "cloud → device",
  both: "both ways",
};
const SIDE_OF: Record<Exclude<Direction, "both">, Side> = { up: "server", down: "client" };

/** TypeScript reserved words that cannot name a `const`. */
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await".split(
    " ",
  ),
);

function receivesOn(direction: Direction, side: Side): boolean {
  return direction === "both" || SIDE_OF[direction] === side;
}

/** Which side a run works on: the flag, else the message's direction, else the only configured side. */
function chooseSide(
  options: ScaffoldHandlerOptions,
  configured: readonly Side[],
  wire: WireMessage | undefined,
): Side {
  if (options.side !== undefined) {
    if (wire !== undefined && !receivesOn(wire.wire.direction, options.side)) {
      const direction = wire.wire.direction as Exclude<Direction, "both">;
      const other = SIDE_OF[direction];
      throw new ScaffoldError(
        "WRONG_SIDE",
        `${wire.message.tsName} travels ${direction} (${DIRECTION_TEXT[direction]}): it is handled on the ${other} side; use --side ${other}`,
      );
    }
    return options.side;
  }
  if (wire !== undefined && wire.wire.direction !== "both") return SIDE_OF[wire.wire.direction];
  if (configured.length === 1) return configured[0]!;
  const what = wire === undefined ? "--all" : `${wire.message.tsName} travels both ways, so`;
  throw new ScaffoldError("SIDE_REQUIRED", `${what} needs --side server or --side client`);
}

/** `../../generated/index.js` from `fromDir` to the SDK's index. */
function importSpecifier(fromDir: string, sdkDir: string): string {
  let path = relative(fromDir, join(sdkDir, "index.js")).split(sep).join("/");
  if (!path.startsWith(".")) path = `./${path}`;
  return path;
}

function identifierFor(messageName: string, taken: ReadonlySet<string>): string {
  let identifier = camelCase(messageName);
  if (RESERVED.has(identifier) || /^[0-9]/.test(identifier)) identifier = `${identifier}Handler`;
  while (taken.has(identifier)) identifier = `${identifier}Handler`;
  return identifier;
}

/** Whether an existing handler file exports `identifier` (then it can be registered as is). */
function exportsIdentifier(text: string, path: string, identifier: string): boolean {
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const file = project.createSourceFile(path, text, { overwrite: true });
  if (file.getExportedDeclarations().has(identifier)) return true;
  // `export { x } from "./elsewhere.js"` (the other file is not loaded here).
  return file
    .getExportDeclarations()
    .some((declaration) =>
      declaration
        .getNamedExports()
        .some((named) => (named.getAliasNode()?.getText() ?? named.getName()) === identifier),
    );
}

export async function scaffoldHandler(options: ScaffoldHandlerOptions): Promise<ScaffoldHandlerResult> {
  const cwd = resolve(options.project ?? process.cwd());
  const layout = readProjectLayout(cwd);
  const inputs = options.proto?.map((file) => resolve(cwd, file)) ?? layout.proto;
  const { model, diagnostics } = await loadProjectModel({
    inputs,
    protoPaths: options.protoPaths?.map((dir) => resolve(cwd, dir)) ?? layout.protoPaths,
    map: options.map === undefined ? layout.map : resolve(cwd, options.map),
    name: layout.name,
    cwd: layout.root,
  });
  const notes = diagnostics.map(formatDiagnostic);

  if (options.all !== true && options.message === undefined) {
    throw new ScaffoldError(
      "UNKNOWN_MESSAGE",
      "name a message (e.g. `scaffold handler CoinAck`) or pass --all",
    );
  }
  const wanted = options.all === true ? undefined : requireWire(model, findMessage(model, options.message!));
  const configured = (["server", "client"] as const).filter((side) => layout.handlers[side] !== undefined);
  const side = chooseSide(options, configured, wanted);

  const dir = options.dir !== undefined ? resolve(cwd, options.dir) : layout.handlers[side];
  const indexPath = dir === undefined ? undefined : join(dir, "index.ts");
  if (dir === undefined || indexPath === undefined || !existsSync(indexPath)) {
    const looked =
      indexPath === undefined
        ? "no handlers directory configured"
        : `looked for ${relative(cwd, indexPath) || indexPath}`;
    const source =
      options.dir !== undefined
        ? "from --dir"
        : dir !== undefined
          ? `from package.json "paynet".handlers.${side}`
          : "";
    throw new ScaffoldError(
      "INDEX_NOT_FOUND",
      `handlers index not found for the ${side} side (${looked}${source ? ` ${source}` : ""}). ` +
        `Point at the directory holding index.ts with --dir, or set "paynet": { "handlers": { "${side}": "src/handlers/${side}" } } in ${relative(cwd, layout.packageJson) || "package.json"}`,
    );
  }

  const sdkDir = options.sdk !== undefined ? resolve(cwd, options.sdk) : layout.sdk;
  const service = model.serviceName;
  const typeName = handlerInterfaceName(service, side);
  const factory = facadeFactoryName(service, side);
  const indexText = readFileSync(indexPath, "utf8");
  const index = inspectIndex(indexText, indexPath, typeName, factory);

  const targets =
    wanted !== undefined ? [wanted] : model.wire.filter((entry) => receivesOn(entry.wire.direction, side));
  const taken = new Set(index.bindings);
  const entries: HandlerEntry[] = [];
  const created: string[] = [];
  const skipped: Array<{ message: string; reason: string }> = [];
  const unregistered: Array<{ message: string; reason: string }> = [];
  const files: Array<{ path: string; content: string }> = [];

  // Replies reach the request waiting for them without a handler; --all leaves them out.
  const requestOf = new Map(
    model.wire.flatMap((entry) =>
      entry.wire.reply === undefined ? [] : [[entry.wire.reply, entry.message.tsName]],
    ),
  );
  for (const target of targets) {
    const messageName = target.message.tsName;
    if (index.properties.has(messageName)) {
      const spread = index.spreads.find((candidate) => candidate.keys?.has(messageName));
      const from = spread === undefined ? "" : ` (from \`...${spread.text}\`)`;
      skipped.push({
        message: messageName,
        reason: `already has a handler in ${relative(cwd, indexPath)}${from}`,
      });
      continue;
    }
    const conflict = spreadConflict(index, relative(cwd, indexPath), messageName);
    if (conflict !== undefined) throw new ScaffoldError("INDEX_SPREAD", conflict);
    const request = requestOf.get(target.message.fullName);
    if (wanted === undefined && request !== undefined) {
      skipped.push({
        message: messageName,
        reason: `answers ${request} and reaches the request waiting for it; scaffold it by name to handle unsolicited ones`,
      });
      continue;
    }
    if (request !== undefined) {
      notes.push(
        `note: ${messageName} answers ${request}: replies normally reach the request waiting for them, ` +
          `so this handler only receives unsolicited ${messageName}s (ones no request is waiting for)`,
      );
    }
    const fileBase = kebabCase(messageName);
    const file = join(dir, `${fileBase}.ts`);
    const module = `./${fileBase}.js`;
    const imported = [...(index.imports.get(module) ?? [])];
    let identifier = camelCase(messageName);
    if (existsSync(file)) {
      const existing = readFileSync(file, "utf8");
      if (!exportsIdentifier(existing, file, identifier)) {
        unregistered.push({
          message: messageName,
          reason:
            `${relative(cwd, file)} exists (left as it is) but does not export \`${identifier}\`: export the ` +
            `handler under that name (\`export const ${identifier}: NonNullable<${typeName}["${messageName}"]> = ...\`) ` +
            `and run this again, or register it in ${relative(cwd, indexPath)} by hand`,
        });
        continue;
      }
      if (!imported.includes(identifier) && taken.has(identifier)) {
        unregistered.push({
          message: messageName,
          reason:
            `${relative(cwd, file)} exports \`${identifier}\`, but ${relative(cwd, indexPath)} already binds ` +
            `another \`${identifier}\`: register it there by hand under another local name`,
        });
        continue;
      }
    } else {
      if (!imported.includes(identifier)) identifier = identifierFor(messageName, taken);
      const reply =
        target.wire.reply === undefined
          ? undefined
          : model.messages.find((m) => m.fullName === target.wire.reply);
      files.push({
        path: file,
        content: renderHandlerStub({
          service,
          side,
          messageName,
          fullName: target.message.fullName,
          type: target.wire.type,
          directionText: DIRECTION_TEXT[target.wire.direction],
          replyName: reply?.tsName,
          fields: target.message.fields.map((field) => field.tsName),
          identifier,
          sdkImport: importSpecifier(dirname(file), sdkDir),
        }),
      });
    }
    taken.add(identifier);
    entries.push({ property: messageName, identifier, module });
  }

  notes.push(
    ...sdkNotes(
      sdkDir,
      typeName,
      entries.map((entry) => entry.property),
    ),
  );
  const edited = registerHandlers(indexText, indexPath, typeName, factory, entries);
  // Handler files first: an index pointing at a missing file would not compile.
  for (const file of files) {
    writeFileSync(file.path, file.content, { flag: "wx" });
    created.push(file.path);
  }
  if (edited !== indexText) writeFileSync(indexPath, edited);
  return {
    side,
    indexPath,
    created,
    registered: entries.map((entry) => entry.property),
    skipped,
    unregistered,
    notes,
  };
}

/** Remarks when the generated SDK is missing or does not know the handlers yet (the stubs would not compile). */
function sdkNotes(sdkDir: string, typeName: string, properties: readonly string[]): string[] {
  const handlersFile = join(sdkDir, "handlers.ts");
  if (!existsSync(handlersFile)) {
    return [
      `the generated SDK was not found at ${handlersFile}: run \`paynet-gen generate\` (or \`npm run generate\`) before building`,
    ];
  }
  const text = readFileSync(handlersFile, "utf8");
  const unknown = properties.filter((property) => !text.includes(` ${property}?(`));
  if (!text.includes(`interface ${typeName}`) || unknown.length > 0) {
    return [
      `${handlersFile} does not declare ${[typeName, ...unknown].join(", ")}: the SDK looks stale; run \`paynet-gen generate\``,
    ];
  }
  return [];
}
