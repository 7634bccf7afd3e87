/**
 * Every fenced code block of the docs is compiled, run or parsed, chosen by its info string:
 *
 * | info string            | check |
 * |---|---|
 * | `ts`, `typescript`     | one strict TypeScript program of all blocks (SDK at `./sdk/index.js`) |
 * | `hex`                  | equals the real encoding of its `<!-- frame: Name {json} -->` comment |
 * | `proto`                | loads and validates with paynet-gen's model loader; with `<!-- append-to: PATH -->` it is |
 * |                        | appended to PATH in the shell walk and validated by the commands that follow |
 * | `yaml`, `json`         | parses; a sidecar map (`messages:`) validates against paybox.original.proto; a `config: paynetd` / `config: paynetcli` block passes that program's strict schema and is saved as paynetd.yaml / device.yaml for the shell blocks after it |
 * | `sh`, `bash`, `console`| paynet-gen lines run against the built CLI; `npm run` names real scripts |
 * | `text`                 | diagrams, exempt |
 *
 * Any other info string (or none) fails, so no unchecked block can be added.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { PAYNETCLI_SETTINGS } from "../../examples/paynetcli/config/settings.js";
import { PAYNETD_SETTINGS } from "../../examples/paynetd/config/settings.js";
import { parseConfig } from "../../examples/shared/config/yaml-file.js";
import { loadModel } from "../../src/model/index.js";
import { scaled } from "../helpers/time.js";
import { CONFIG_FILES, checkCommand, Workspace } from "./commands.js";
import { encodeSpec, frameSpecOf, parseHex, toHex } from "./frames.js";
import {
  type CodeBlock,
  docFiles,
  extractBlocks,
  missingDocs,
  parseBlocks,
  REPO_ROOT,
  where,
} from "./markdown.js";
import { commandsOf } from "./shell.js";
import { assertRuntimeBuilt, DOCS_TMP, typecheckBlocks } from "./typecheck.js";

// `c` blocks are compiled by c-blocks.test.ts.
const CHECKED = ["ts", "typescript", "hex", "proto", "yaml", "json", "sh", "bash", "console", "text", "c"];
const blocks: CodeBlock[] = docFiles().flatMap((doc) =>
  missingDocs().includes(doc) ? [] : extractBlocks(doc),
);
const ofLang = (...langs: string[]) => blocks.filter((block) => langs.includes(block.lang));
const SCRATCH = join(REPO_ROOT, "test/.tmp/docs-data");

afterAll(() => {
  if (process.env.PAYNET_KEEP_DOCS_TMP !== undefined) return;
  rmSync(DOCS_TMP, { recursive: true, force: true });
  rmSync(SCRATCH, { recursive: true, force: true });
  rmSync(join(REPO_ROOT, "test/.tmp/docs-sh"), { recursive: true, force: true });
});

describe("documentation code blocks", () => {
  it("the documented files exist and carry code", () => {
    expect(missingDocs()).toEqual([]);
    expect(ofLang("ts", "typescript").length).toBeGreaterThan(0);
    expect(ofLang("hex").length).toBeGreaterThan(0);
    expect(ofLang("sh", "bash", "console").length).toBeGreaterThan(0);
  });

  it("every block has an info string the test knows how to check", () => {
    const unchecked = blocks
      .filter((block) => !CHECKED.includes(block.lang))
      .map((block) => `${where(block)}: \`${block.lang || "(none)"}\``);
    expect(unchecked).toEqual([]);
  });

  it("TypeScript blocks type-check under the repository's strict options", {
    timeout: scaled(180_000),
  }, () => {
    assertRuntimeBuilt();
    const problems = typecheckBlocks(ofLang("ts", "typescript"));
    expect(problems.map((p) => `${p.location}: ${p.message}`)).toEqual([]);
  });

  it("hex dumps are the real encoding of the frame they describe", () => {
    const wrong: string[] = [];
    for (const block of ofLang("hex")) {
      try {
        const spec = frameSpecOf(block);
        const actual = parseHex(block.body);
        const expected = encodeSpec(spec);
        if (!actual.equals(expected)) {
          wrong.push(
            `${where(block)}: ${spec.message}\n  doc:  ${toHex(actual)}\n  real: ${toHex(expected)}`,
          );
        }
      } catch (error) {
        wrong.push(`${where(block)}: ${(error as Error).message}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("proto blocks load and validate", { timeout: scaled(60_000) }, async () => {
    const wrong: string[] = [];
    // Snippets appended to a file of the shell walk are validated there, by the commands after them.
    for (const block of ofLang("proto").filter((b) => appendTarget(b) === undefined)) {
      const dir = scratchDir(block);
      writeFileSync(join(dir, "doc.proto"), block.body);
      const { model, diagnostics } = await loadModel({ inputs: ["doc.proto"], cwd: dir });
      if (model === undefined) wrong.push(`${where(block)}: ${diagnostics.map((d) => d.message).join("; ")}`);
    }
    expect(wrong).toEqual([]);
  });

  it("config blocks pass the strict schema of their program", async () => {
    const wrong: string[] = [];
    for (const block of ofLang("yaml")) {
      const program = configProgram(block);
      if (program === undefined) continue;
      try {
        parseConfig(program === "paynetd" ? PAYNETD_SETTINGS : PAYNETCLI_SETTINGS, where(block), block.body);
      } catch (error) {
        wrong.push((error as Error).message);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("yaml and json blocks parse; sidecar maps validate against paybox.original.proto", async () => {
    const wrong: string[] = [];
    for (const block of ofLang("yaml", "json")) {
      let data: unknown;
      try {
        data = block.lang === "json" ? JSON.parse(block.body) : parseYaml(block.body);
      } catch (error) {
        wrong.push(`${where(block)}: ${(error as Error).message}`);
        continue;
      }
      if (typeof data !== "object" || data === null || !("messages" in data)) continue;
      const mapFile = join(scratchDir(block), `map.${block.lang}`);
      writeFileSync(mapFile, block.body);
      const { model, diagnostics } = await loadModel({
        inputs: ["proto/paybox.original.proto"],
        mapFile,
        cwd: REPO_ROOT,
      });
      if (model === undefined) wrong.push(`${where(block)}: ${diagnostics.map((d) => d.message).join("; ")}`);
    }
    expect(wrong).toEqual([]);
  });

  describe("shell blocks", () => {
    const docs = [...new Set(ofLang("sh", "bash", "console").map((block) => block.doc))];
    for (const doc of docs) {
      it(`${doc}: every command runs or names what covers it`, { timeout: scaled(600_000) }, async () => {
        // One scratch checkout per document: its blocks build on each other (certs, then devices).
        const workspace = new Workspace(
          join(REPO_ROOT, "test/.tmp/docs-sh", doc.replace(/[^A-Za-z0-9]+/g, "-")),
        );
        const failures: string[] = [];
        for (const block of blocks.filter((b) => b.doc === doc)) {
          const appendTo = appendTarget(block);
          if (appendTo !== undefined) {
            // A proto snippet the reader pastes into a file made by an earlier command.
            try {
              appendFileSync(workspace.file(appendTo), `\n${block.body}\n`);
            } catch (error) {
              failures.push(`${where(block)}: append-to ${appendTo}: ${(error as Error).message}`);
            }
            continue;
          }
          const program = configProgram(block);
          if (program !== undefined) {
            // A config file the reader saves; the commands after it name it with --config.
            writeFileSync(join(workspace.cwd, CONFIG_FILES[program]), block.body);
            continue;
          }
          if (!["sh", "bash", "console"].includes(block.lang)) continue;
          for (const command of commandsOf(block)) {
            try {
              await checkCommand(command, workspace);
            } catch (error) {
              failures.push(
                `${where(block, command.offset + 1)}: ${command.text}\n  ${(error as Error).message}`,
              );
            }
          }
        }
        expect(failures).toEqual([]);
      });
    }
  });
});

describe("the doc-test harness itself", () => {
  const fake = (lang: string, body: string, annotation?: string): CodeBlock => ({
    doc: "FAKE.md",
    line: 10,
    lang,
    body,
    annotation,
  });

  it("reports a type error at its Markdown line", { timeout: scaled(120_000) }, () => {
    assertRuntimeBuilt();
    const bad = fake(
      "ts",
      'import { createPing } from "./sdk/index.js";\n\nexport const p = createPing({ uptime: "1" });',
    );
    const problems = typecheckBlocks([bad], join(SCRATCH, "self-ts"));
    expect(problems.map((p) => p.location)).toEqual(["FAKE.md:13"]);
  });

  it("tells a wrong hex dump from the real frame", () => {
    const spec = frameSpecOf(fake("hex", "", 'frame: Ping {"uptime": 3600}'));
    expect(toHex(encodeSpec(spec))).toBe("00 00 00 04 03 10 90 1c");
    expect(parseHex("00 00 00 04 03 10 90 1d").equals(encodeSpec(spec))).toBe(false);
  });

  it("finds fences, info strings and the comment above", () => {
    const parsed = parseBlocks(
      "X.md",
      "text\n<!-- frame: Pong {} -->\n```hex\n00 00 00 01 83\n```\n\n~~~\nplain\n~~~\n",
    );
    expect(parsed.map((b) => [b.line, b.lang, b.body, b.annotation])).toEqual([
      [3, "hex", "00 00 00 01 83", "frame: Pong {}"],
      [7, "", "plain", undefined],
    ]);
  });

  it("refuses unknown scripts, unknown flags and commands outside the vocabulary", async () => {
    const workspace = new Workspace(join(SCRATCH, "self-sh"));
    const check = (text: string) => checkCommand({ offset: 0, text, words: text.split(" ") }, workspace);
    await expect(check("npm run no-such-script")).rejects.toThrow(/no such script/);
    await expect(check("npm run paynetd -- --listen 127.0.0.1:0 --certs c --bogus")).rejects.toThrow(/bogus/);
    await expect(check("ls -la")).rejects.toThrow(/not a command the doc test can check/);
    await expect(check("npx paynet-gen certs device X --out missing-dir")).rejects.toThrow(/exited with/);
    await expect(check("npm run paynetd -- --listen 127.0.0.1:0 --certs c")).resolves.toMatchObject({
      kind: "covered",
    });
  });

  it("splits shell lines into commands the way a shell would", () => {
    const commands = commandsOf(
      fake(
        "console",
        "$ cd app && npx paynet-gen types list 'a b' # note\noutput\n$ npm run x -- \\\n  --flag",
      ),
    );
    expect(commands.map((c) => c.words)).toEqual([
      ["cd", "app"],
      ["npx", "paynet-gen", "types", "list", "a b"],
      ["npm", "run", "x", "--", "--flag"],
    ]);
  });
});

/** `PATH` of an `<!-- append-to: PATH -->` comment above a proto block. */
/** `<!-- config: paynetd -->` above a YAML block: a paynetd.yaml (or device.yaml for paynetcli). */
function configProgram(block: CodeBlock): keyof typeof CONFIG_FILES | undefined {
  if (block.lang !== "yaml") return undefined;
  const program = /^config:\s*(paynetd|paynetcli)$/.exec(block.annotation ?? "")?.[1];
  return program as keyof typeof CONFIG_FILES | undefined;
}

function appendTarget(block: CodeBlock): string | undefined {
  if (block.lang !== "proto") return undefined;
  return /^append-to:\s*(\S+)$/.exec(block.annotation ?? "")?.[1];
}

function scratchDir(block: CodeBlock): string {
  const dir = join(SCRATCH, `${block.doc.replace(/[^A-Za-z0-9]+/g, "-")}-L${block.line}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
