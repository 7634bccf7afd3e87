/**
 * The generated SDKs compile under `tsc --strict` with exactOptionalPropertyTypes, noUnusedLocals,
 * noUnusedParameters and verbatimModuleSyntax, expose no `any`, and are usable from strict user code.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scaled } from "../helpers/time.js";
import {
  ANNOTATED_PAYBOX,
  COMMANDS,
  MULTI_FILE,
  makeSdkDir,
  NASTY_NAMES,
  removeDir,
  renderFixture,
  SIDECAR_PAYBOX,
  type TypeCheckResult,
  typeCheckDir,
  UPLINK_ONLY,
  writeFiles,
} from "./sdk-harness.js";

const VARIANTS = [
  { dir: "paybox", fixture: ANNOTATED_PAYBOX, overrides: {} },
  { dir: "paybox-sidecar", fixture: SIDECAR_PAYBOX, overrides: {} },
  { dir: "paybox-int64-string", fixture: ANNOTATED_PAYBOX, overrides: { int64: "string" as const } },
  { dir: "paybox-server", fixture: ANNOTATED_PAYBOX, overrides: { target: "server" as const } },
  { dir: "paybox-client", fixture: ANNOTATED_PAYBOX, overrides: { target: "client" as const } },
  { dir: "multi", fixture: MULTI_FILE, overrides: {} },
  { dir: "multi-int64-string", fixture: MULTI_FILE, overrides: { int64: "string" as const } },
  { dir: "uplink-only", fixture: UPLINK_ONLY, overrides: {} },
  { dir: "commands", fixture: COMMANDS, overrides: {} },
  { dir: "commands-int64-string", fixture: COMMANDS, overrides: { int64: "string" as const } },
  { dir: "uplink-only-int64-string", fixture: UPLINK_ONLY, overrides: { int64: "string" as const } },
  { dir: "nasty-names", fixture: NASTY_NAMES, overrides: { int64: "bigint" as const } },
  { dir: "nasty-names-int64-string", fixture: NASTY_NAMES, overrides: {} },
];

/** Strict user code against the paybox SDK: handlers, facades, contexts, options. */
const PAYBOX_USAGE = `
import type { PaynetError } from "@paynet/runtime";
import {
  CoinState,
  createPayboxClient,
  createPayboxServer,
  MessageType,
  messageTypeName,
  ResultCode,
  type CoinAck,
  type PayboxClientHandlers,
  type PayboxServerHandlers,
} from "./index.js";

const serverHandlers: PayboxServerHandlers = {
  LoginReq(message, ctx) {
    ctx.session.login(message.deviceId);
    return { code: ResultCode.OK, resumeToken: "t1" };
  },
  async RegisterReq(message) {
    return message.deviceSn === "" ? { code: ResultCode.PARAM_ERROR, msg: "no serial" } : { deviceId: "dev-1" };
  },
  async QueryReq(message, ctx) {
    await ctx.reply({ orderId: message.orderId, state: CoinState.COIN_RUNNING });
    return undefined;
  },
  CoinAck(message, ctx) {
    void ctx.session.peer;
    void message.progress;
  },
};

const clientHandlers: PayboxClientHandlers = {
  async CoinCommand(command, ctx) {
    await ctx.reply({ orderId: command.orderId, state: CoinState.COIN_ACCEPTED });
    await ctx.sendPing({ uptime: 3 });
    return { orderId: command.orderId, state: CoinState.COIN_DONE, progress: 100 };
  },
};

export async function useServer(tls: { cert: string; key: string }): Promise<CoinAck[]> {
  const server = createPayboxServer(
    { tls, port: 0, errorMessage: (error: PaynetError) => ({ code: 7, msg: error.code }) },
    serverHandlers,
  );
  server.on("online", (session) => void session.deviceId);
  const { port } = await server.start();
  void port;
  const first = await server.requestCoinCommand("dev-1", { orderId: "o1", coins: 2 }, { timeoutMs: 1000 });
  const acks: CoinAck[] = [first];
  for await (const ack of server.streamCoinCommand("dev-1", { orderId: "o2" }, { isFinal: (a) => a.state === CoinState.COIN_DONE })) {
    acks.push(ack);
  }
  for await (const ack of server.deliverCoinCommand("dev-1", { orderId: "o3" }, { deadlineMs: 5000 })) acks.push(ack);
  await server.sendErrorMsg("dev-1", { code: 1 });
  await server[Symbol.asyncDispose]();
  return acks;
}

export async function useClient(ca: string): Promise<boolean> {
  let resumeToken = "";
  const client = createPayboxClient(
    {
      host: "127.0.0.1",
      port: 1,
      tls: { ca },
      register: () => ({ deviceSn: "SN1" }),
      login: () => ({ deviceId: "dev-1", token: resumeToken }),
      onLoginReply: (reply) => {
        resumeToken = reply.resumeToken;
      },
      acceptLogin: (reply) => (reply.code === ResultCode.OK ? true : { code: reply.code }),
      heartbeat: { intervalMs: 1000, build: () => ({ uptime: 1 }) },
    },
    clientHandlers,
  );
  client.on("offline", (reason) => void reason.code);
  client.start();
  const rsp = await client.requestQueryReq({ orderId: "o1" });
  await client.sendCoinAck({ orderId: "o1", state: rsp.state });
  await client.stop();
  return messageTypeName(MessageType.CoinAck, "up") === "CoinAck" && client.online;
}
`;

let root = "";
let result: TypeCheckResult;

beforeAll(async () => {
  root = await makeSdkDir("paynet-typecheck-");
  for (const variant of VARIANTS) {
    await writeFiles(join(root, variant.dir), await renderFixture(variant.fixture, variant.overrides));
  }
  await writeFiles(join(root, "paybox"), [{ path: "usage.ts", content: PAYBOX_USAGE }]);
  result = await typeCheckDir(root);
}, scaled(120_000));

afterAll(async () => {
  await removeDir(root);
});

describe("generated SDKs under strict tsc", () => {
  it("compile without errors (paybox, sidecar, int64 string, server/client targets, multi-file, edge-case and nasty-name protos)", () => {
    expect(result.errors).toEqual([]);
  });

  it("have no `any` in their public declarations", () => {
    const withAny = [...result.declarations]
      .filter(([path]) => !path.endsWith("usage.d.ts"))
      .flatMap(([path, text]) =>
        text
          .split("\n")
          .filter((line) => /\bany\b/.test(line.replace(/\/\/.*$|\/\*.*?\*\/|^\s*\*.*$/g, "")))
          .map((line) => `${path}: ${line.trim()}`),
      );
    expect(result.declarations.size).toBeGreaterThan(VARIANTS.length * 5);
    expect(withAny).toEqual([]);
  });
});
