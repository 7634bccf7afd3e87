/**
 * Importing the runtime leaves the application's protobufjs as the application configured it:
 * protobufjs is one module instance per process, so a runtime that set `util.Long` or called
 * `configure()` would change how the application's own codecs read 64-bit fields. Checked in a
 * fresh child process (module state is per process), whose application turned `Long` off.
 */
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENTRY_POINTS = ["index.ts", "protobuf/index.ts", "cluster/index.ts", "testing/index.ts"].map(
  (file) => pathToFileURL(join(REPO_ROOT, "runtime", "src", file)).href,
);

const CHILD = `
import protobuf from "protobufjs/minimal.js";

// The application wants plain numbers for 64-bit fields, not Long objects.
protobuf.util.Long = undefined;
protobuf.configure();

// Every property of protobufjs's shared objects, by identity.
function snapshot() {
  const holders = {
    protobuf,
    util: protobuf.util,
    Reader: protobuf.Reader,
    "Reader.prototype": protobuf.Reader.prototype,
    "BufferReader.prototype": protobuf.BufferReader.prototype,
    Writer: protobuf.Writer,
    "Writer.prototype": protobuf.Writer.prototype,
    "BufferWriter.prototype": protobuf.BufferWriter.prototype,
  };
  const values = new Map();
  for (const [holderName, holder] of Object.entries(holders)) {
    for (const key of Reflect.ownKeys(holder)) values.set(holderName + "." + String(key), holder[key]);
  }
  return values;
}

const before = snapshot();
let runtimeReader;
for (const entry of ${JSON.stringify(ENTRY_POINTS)}) {
  const module = await import(entry);
  runtimeReader ??= module.Reader;
}
const after = snapshot();
const changed = [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key));
// 2^40 as a varint: the application's own reader must still return a number.
const int64 = protobuf.Reader.create(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x20)).int64();
process.stdout.write(JSON.stringify({
  changed,
  int64: typeof int64 === "number" ? int64 : String(int64),
  sameProtobufjs: runtimeReader === protobuf.Reader,
}));
`;

describe("importing the runtime", () => {
  it("leaves protobufjs's global configuration as the application set it", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx/esm", "--input-type=module", "--eval", CHILD],
      { cwd: REPO_ROOT },
    );
    const result = JSON.parse(stdout) as {
      changed: string[];
      int64: number | string;
      sameProtobufjs: boolean;
    };
    // The check means something only if the runtime uses the very protobufjs the application does.
    expect(result.sameProtobufjs).toBe(true);
    expect(result.changed).toEqual([]);
    expect(result.int64).toBe(2 ** 40);
  });
});
