/**
 * Proto names that clash with what the generated SDK declares or imports. Runtime exports are
 * imported under an alias (the nasty-names fixture must generate, compile — see
 * generate-typecheck.test.ts — and work over TLS); reserved and doubly generated names are rejected
 * (fixtures in test/fixtures/protos/errors/reserved-name*.proto and ts-name-collision--*.proto).
 * The SDK here is rendered with `--int64 string`: heartbeat timestamps and 64-bit correlation keys
 * travel as decimal strings.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDiagnostic, loadModel } from "../../src/model/index.js";
import { makeTestPki } from "../helpers/pki.js";
import {
  ANNOTATED_PAYBOX,
  MULTI_FILE,
  makeSdkDir,
  NASTY_NAMES,
  REPO_ROOT,
  removeDir,
  renderFixture,
  writeFiles,
} from "./sdk-harness.js";

// Imported at run time; the golden files give the types (`--int64 string`).
type Sdk = typeof import("./golden/nasty-names/index.js");

const NASTY_PROTO = "test/fixtures/protos/generator/nasty-names.proto";
const RESERVED_PROTO = "test/fixtures/protos/errors/reserved-name.proto";
const MAX_UINT64 = "18446744073709551615";

describe("names the SDK reserves", () => {
  it("accepts proto types named like runtime exports, and fields named like inherited members", async () => {
    const { model, diagnostics } = await loadModel({ inputs: [NASTY_PROTO], cwd: REPO_ROOT });
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(model?.messages.map((message) => message.tsName)).toContain("Registry");
  });

  it("names --name as the fix for a clash with a service-derived identifier, and clears it with another name", async () => {
    const named = await loadModel({ inputs: [RESERVED_PROTO], name: "Errs", cwd: REPO_ROOT });
    expect(named.diagnostics.map(formatDiagnostic)).toContain(
      "test/fixtures/protos/errors/reserved-name.proto:22:9: error [reserved-name] message errs.ErrsServer would be named ErrsServer in TypeScript, " +
        "which the SDK generates for the server facade of service Errs (named after --name); rename the message or choose another service name with --name",
    );
    const other = await loadModel({ inputs: [RESERVED_PROTO], name: "Shop", cwd: REPO_ROOT });
    expect(other.diagnostics.map((d) => d.message).filter((m) => m.includes("ErrsServer"))).toEqual([]);
    expect(other.model).toBeUndefined(); // the other names of the fixture stay reserved
  });

  it("aliases runtime imports only where a proto type takes the name", async () => {
    const nasty = await renderFixture(NASTY_NAMES);
    const server = nasty.find((file) => file.path === "server.ts")!.content;
    expect(server).toContain(
      'import { PaynetServer as $PaynetServer, Registry as $Registry } from "@paynet/runtime";',
    );
    expect(server).toContain("new $PaynetServer(");
    const dispatch = nasty.find((file) => file.path === "dispatch.ts")!.content;
    expect(dispatch).toContain("Session as $Session");
    expect(dispatch).toMatch(/import type \{[^}]*\bSession\b[^}]*\} from "\.\/types\.js";/);

    const paybox = await renderFixture(ANNOTATED_PAYBOX);
    for (const file of paybox) expect(file.content).not.toMatch(/\w as \$\w+/);
  });

  it("records each enum's syntax, that of its file", async () => {
    const { model } = await loadModel({
      inputs: [...MULTI_FILE.options.inputs],
      protoPaths: [...(MULTI_FILE.options.protoPaths ?? [])],
      cwd: REPO_ROOT,
    });
    const syntaxes = Object.fromEntries(model!.enums.map((e) => [e.fullName, e.syntax]));
    expect(syntaxes).toMatchObject({
      "shop.legacy.LegacyRecord.Kind": "proto2",
      "shop.common.Currency": "proto3",
      "shop.v1.Order.Status": "proto3",
    });
  });
});

describe("nasty-names SDK (--int64 string) at run time", () => {
  let dir = "";
  let sdk: Sdk;

  beforeAll(async () => {
    dir = await makeSdkDir("paynet-nasty-");
    await writeFiles(dir, await renderFixture(NASTY_NAMES));
    sdk = (await import(join(dir, "index.ts"))) as Sdk;
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it("never encodes an inherited member for an absent field named like one", () => {
    const { codecs } = sdk;
    expect(codecs.Session.encode({})).toHaveLength(0);
    expect(codecs.Error.encode({})).toHaveLength(0);
    expect(codecs.RequestOptions.encode({})).toHaveLength(0);
    const session = {
      constructor: "dev-1",
      toString: "t",
      default: "d",
      class: "c",
      hasOwnProperty: new Uint8Array([1, 2]),
      verdict: sdk.LoginVerdict.LOGIN_VERDICT_REFUSED,
      registries: { a: sdk.createRegistry({ serial: "s" }) },
    };
    const { hasOwnProperty: bytes, ...rest } = codecs.Session.decode(codecs.Session.encode(session));
    expect(rest).toEqual({ ...session, hasOwnProperty: undefined });
    expect(Array.from(bytes)).toEqual([1, 2]);
    const error = codecs.Error.decode(codecs.Error.encode({ constructor: MAX_UINT64, step: 2 }));
    expect(error).toEqual({ constructor: MAX_UINT64, step: 2, stage: sdk.Stage.STAGE_PENDING });
    expect(sdk.MapRequest.requestKey!(sdk.createMap({ constructor: MAX_UINT64 }))).toBe(MAX_UINT64);
    expect(sdk.RequestOptionsRequest.requestKey!(sdk.createRequestOptions())).toBe("");
  });

  it("logs in, beats, and matches replies by 64-bit, bytes and string keys over TLS", async () => {
    const pki = await makeTestPki();
    const heartbeats: string[] = [];
    const beatSeen = new Set<() => void>();
    const server = sdk.createNastyServer(
      { tls: { cert: pki.server.cert, key: pki.server.key }, port: 0 },
      {
        Registry(message) {
          return { code: message.serial === "SN1" ? 0 : 1 };
        },
        Session(message, ctx) {
          ctx.session.login(message.constructor);
          return { code: sdk.LoginVerdict.LOGIN_VERDICT_OK };
        },
      },
    );
    const { port } = await server.start();
    const client = sdk.createNastyClient(
      {
        host: "127.0.0.1",
        port,
        tls: { ca: pki.ca.cert, servername: "localhost" },
        register: () => ({ serial: "SN1" }),
        // An own `hasOwnProperty` field: a literal must set it, or it would inherit Object's method.
        login: () => ({ constructor: "dev-1", toString: "x", hasOwnProperty: new Uint8Array() }),
        heartbeat: { intervalMs: 20 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
      },
      {
        ServerEvents(message) {
          heartbeats.push(message.timestamp);
          for (const notify of beatSeen) notify();
        },
        async Map(message, ctx) {
          await ctx.reply({ constructor: message.constructor, step: 1 });
          return { constructor: message.constructor, step: 2, stage: sdk.Stage.STAGE_DONE };
        },
        RequestOptions(message) {
          return {
            constructor: message.constructor,
            class: { case: "toLocaleString", value: "-9223372036854775808" },
            valueOf: sdk.Stage.STAGE_DONE,
          };
        },
        MessageDef(message) {
          // The final stage lives in a field named like an inherited member.
          return { toString: message.toString, constructor: sdk.Stage.STAGE_FAILED };
        },
      },
    );
    try {
      const online = new Promise<void>((resolve) => client.on("online", () => resolve()));
      client.start();
      await online;

      // The default heartbeat carries Date.now() as a decimal string; the default answer echoes it.
      await new Promise<void>((resolve) => {
        const check = () => {
          if (heartbeats.length > 0) resolve();
        };
        beatSeen.add(check);
        check();
      });
      expect(heartbeats[0]).toMatch(/^[1-9][0-9]{12,}$/);

      const steps: number[] = [];
      for await (const reply of server.streamMap(
        "dev-1",
        { constructor: MAX_UINT64, entries: { k: "v" } },
        { timeoutMs: 5_000, isFinal: (reply) => reply.step === 2 },
      )) {
        expect(reply.constructor).toBe(MAX_UINT64);
        steps.push(reply.step);
      }
      expect(steps).toEqual([1, 2]);

      const delivered = await server.requestRequestOptions(
        "dev-1",
        { constructor: new Uint8Array([0xca, 0xfe]) },
        { timeoutMs: 5_000 },
      );
      expect(delivered.class).toEqual({ case: "toLocaleString", value: "-9223372036854775808" });
      expect(Array.from(delivered.constructor)).toEqual([0xca, 0xfe]);

      const spec = await server.requestMessageDef("dev-1", { toString: "key-1" }, { timeoutMs: 5_000 });
      expect(spec.toString).toBe("key-1");
      expect(spec.constructor).toBe(sdk.Stage.STAGE_FAILED);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
