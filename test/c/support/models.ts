/**
 * The protos the C tests generate from. The generator tests' fixtures are written for TypeScript:
 * most leave strings and lists unbounded, and some hold recursive messages (a tree node,
 * google.protobuf.Struct). `deviceReady` gives such a model what a device needs, as a user's
 * annotations and a device-sized proto would: bounds on every unbounded field, and without the
 * fields through which a message contains itself (the C target refuses those, see
 * generate-c.test.ts).
 */
import { existsSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import protobuf from "protobufjs";
import { needsMaxCount, needsMaxSize } from "../../../src/emit/c/check.js";
import { formatDiagnostic, loadModel, PAYNET_PROTO_DIR } from "../../../src/model/index.js";
import { PROTOBUFJS_DIR } from "../../../src/model/paths.js";
import type { FieldModel, MessageModel, ProtoModel } from "../../../src/model/types.js";
import { BOUNDED_FIXTURE, PROTO2_FIXTURE, PROTO3_FIXTURE } from "../../generator/codec-fixtures.js";
import { REPO, scratch } from "./toolchain.js";

export interface CFixture {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly protoPaths?: readonly string[];
  readonly mapFile?: string;
  /** Proto text written to a scratch file (the codec fixtures). */
  readonly source?: string;
}

export const C_FIXTURES: readonly CFixture[] = [
  { name: "paybox", inputs: ["proto/paybox.proto"] },
  { name: "paybox-sidecar", inputs: ["proto/paybox.original.proto"], mapFile: "proto/paybox.map.yaml" },
  {
    name: "paybox-sidecar-json",
    inputs: ["proto/paybox.original.proto"],
    mapFile: "test/fixtures/protos/sidecar/paybox.map.json",
  },
  { name: "commands", inputs: ["test/fixtures/protos/generator/commands.proto"] },
  { name: "nasty-names", inputs: ["test/fixtures/protos/generator/nasty-names.proto"] },
  { name: "uplink-only", inputs: ["test/fixtures/protos/generator/uplink-only.proto"] },
  {
    name: "multi",
    inputs: ["test/fixtures/protos/multi/shop.proto"],
    protoPaths: ["test/fixtures/protos/multi/include"],
  },
  {
    name: "sidecar-mixed",
    inputs: ["test/fixtures/protos/sidecar/mixed.proto"],
    mapFile: "test/fixtures/protos/sidecar/mixed.yaml",
  },
  {
    name: "inherited-names",
    inputs: ["test/fixtures/protos/sidecar/inherited-names.proto"],
    mapFile: "test/fixtures/protos/sidecar/inherited-names.yaml",
  },
  { name: "proto3", inputs: [], source: PROTO3_FIXTURE },
  { name: "proto2", inputs: [], source: PROTO2_FIXTURE },
  { name: "bounded", inputs: [], source: BOUNDED_FIXTURE },
];

/** Loads a fixture's model as the generator does; throws on diagnostics. */
export async function loadFixtureModel(fixture: CFixture): Promise<ProtoModel> {
  let inputs = [...fixture.inputs];
  let cleanup = () => {};
  if (fixture.source !== undefined) {
    const { dir, remove } = scratch(`proto-${fixture.name}`);
    const file = join(dir, `${fixture.name}.proto`);
    writeFileSync(file, fixture.source);
    inputs = [file];
    cleanup = remove;
  }
  try {
    const { model, diagnostics } = await loadModel({
      inputs,
      cwd: REPO,
      ...(fixture.protoPaths === undefined ? {} : { protoPaths: [...fixture.protoPaths] }),
      ...(fixture.mapFile === undefined ? {} : { mapFile: fixture.mapFile }),
    });
    if (model === undefined) throw new Error(diagnostics.map(formatDiagnostic).join("\n"));
    return model;
  } finally {
    cleanup();
  }
}

/**
 * The fields that make messages contain themselves: walking the messages depth first, each field
 * leading back to a message still being walked closes a cycle. Without them the messages form a
 * tree of finite size, as a device needs.
 */
export function cycleFields(model: ProtoModel): Set<FieldModel> {
  const byName = new Map(model.messages.map((message) => [message.fullName, message]));
  const state = new Map<string, "open" | "done">();
  const cut = new Set<FieldModel>();
  const visit = (message: MessageModel): void => {
    state.set(message.fullName, "open");
    for (const field of message.fields) {
      if (field.value.kind !== "message") continue;
      const target = byName.get(field.value.fullName);
      if (target === undefined) continue;
      const seen = state.get(target.fullName);
      if (seen === "open") cut.add(field);
      else if (seen === undefined) visit(target);
    }
    state.set(message.fullName, "done");
  };
  for (const message of model.messages) if (!state.has(message.fullName)) visit(message);
  return cut;
}

/** Bounds for the fields left unbounded: larger than what the property tests' values reach. */
export const TEST_BOUNDS = { maxSize: 64, maxCount: 8 } as const;

/** The model with a bound on every field that lacks one (recursive messages stay). */
export function bounded(model: ProtoModel): ProtoModel {
  const bound = (field: FieldModel): FieldModel => ({
    ...field,
    ...(needsMaxSize(field) && field.maxSize === undefined ? { maxSize: TEST_BOUNDS.maxSize } : {}),
    ...(needsMaxCount(field) && field.maxCount === undefined ? { maxCount: TEST_BOUNDS.maxCount } : {}),
  });
  return withMessages(model, (message) => ({ ...message, fields: message.fields.map(bound) }));
}

/** The model with every field bounded and the fields closing cycles left out (see the file comment). */
export function deviceReady(model: ProtoModel): ProtoModel {
  const cut = new Set([...cycleFields(model)].map((field) => field.position));
  return withMessages(bounded(model), (message) => {
    const fields = message.fields.filter((field) => !cut.has(field.position));
    const numbers = new Set(fields.map((field) => field.number));
    const oneofs = message.oneofs
      .map((oneof) => ({ ...oneof, fieldNumbers: oneof.fieldNumbers.filter((n) => numbers.has(n)) }))
      .filter((oneof) => oneof.fieldNumbers.length > 0);
    return { ...message, fields, oneofs };
  });
}

/** The model with each message replaced by `change(message)`, wire entries and roles following. */
function withMessages(model: ProtoModel, change: (message: MessageModel) => MessageModel): ProtoModel {
  const messages = model.messages.map(change);
  const byName = new Map(messages.map((message) => [message.fullName, message]));
  const wire = model.wire.map((entry) => ({ ...entry, message: byName.get(entry.message.fullName)! }));
  const roles = Object.fromEntries(
    Object.entries(model.roles).map(([role, entry]) => [
      role,
      wire.find((candidate) => candidate.message.fullName === entry?.message.fullName),
    ]),
  );
  return { ...model, messages, wire, roles };
}

/** protobufjs reflection of the fixture's files (the reference the C codecs are compared with). */
export async function reflectionOf(fixture: CFixture): Promise<protobuf.Root> {
  let inputs = fixture.inputs.map((input) => join(REPO, input));
  let cleanup = () => {};
  if (fixture.source !== undefined) {
    const { dir, remove } = scratch(`reflect-${fixture.name}`);
    inputs = [join(dir, `${fixture.name}.proto`)];
    writeFileSync(inputs[0]!, fixture.source);
    cleanup = remove;
  }
  try {
    const searchPath = [
      ...inputs.map((input) => dirname(input)),
      ...(fixture.protoPaths ?? []).map((path) => join(REPO, path)),
      PAYNET_PROTO_DIR,
      PROTOBUFJS_DIR,
    ];
    const root = new protobuf.Root();
    root.resolvePath = (origin, target) => {
      if (isAbsolute(target)) return target;
      const found = searchPath.map((dir) => join(dir, target)).find((candidate) => existsSync(candidate));
      return found ?? protobuf.util.path.resolve(origin, target);
    };
    root.loadSync(inputs, { keepCase: true, alternateCommentMode: true });
    root.resolveAll();
    return root;
  } finally {
    cleanup();
  }
}
