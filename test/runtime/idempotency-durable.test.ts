/**
 * The device's record of executed commands as a user relies on it, over real TLS: keys namespaced
 * by message, empty correlation values refused, a command interrupted by a restart answered with
 * the protocol's failure reply (never run again) and reported once, a failing handler answered with
 * it too, and a warning when the record lives in memory only.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INTERRUPTED_REASON } from "../../runtime/src/client/dispatch.js";
import type { ClientContext, InterruptedCommand } from "../../runtime/src/client/types.js";
import type { MessageDef, RequestSpec } from "../../runtime/src/codec.js";
import { FileIdempotencyStore } from "../../runtime/src/delivery/file-store.js";
import { MemoryIdempotencyStore } from "../../runtime/src/delivery/idempotency.js";
import { type JournalIo, nodeJournalIo } from "../../runtime/src/delivery/journal/io.js";
import type { PaynetError } from "../../runtime/src/errors.js";
import type { Registry } from "../../runtime/src/registry.js";
import {
  clientRegistry,
  makeClient,
  nextEvent,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  type Command,
  CommandDef,
  commandSpec,
  type ErrorMsg,
} from "../helpers/messages.js";
import { testErrorMessage } from "../helpers/test-server.js";

const pki = await setUpClientTests();
const root = await mkdtemp(join(tmpdir(), "paynet-durable-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let serial = 0;

/** A second command on the same codec: a refund, answered with the same Ack. */
const RefundDef: MessageDef<Command> = { type: 0x06, name: "paytest.Refund", codec: CommandDef.codec };
const refundSpec: RequestSpec<Command, Ack> = {
  request: RefundDef,
  reply: AckDef,
  requestKey: (command) => command.orderId,
  replyKey: (ack) => ack.orderId,
};

const failed = (command: Command, reason: string): Ack => ({
  orderId: command.orderId,
  state: AckState.FAILED,
  error: reason,
});

/** Coin and refund commands: each execution is counted; `hold` keeps a coin command running. */
function device(options: { hold?: Promise<void>; failureReply?: boolean } = {}) {
  const executions: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const guarded = (kind: string) => ({
    reply: AckDef,
    idempotencyKey: (command: Command) => command.orderId,
    ...(options.failureReply === false ? {} : { failureReply: failed }),
    handler: async (command: Command, ctx: ClientContext): Promise<Ack> => {
      executions.push(`${kind}:${command.orderId}`);
      await ctx.reply({ orderId: command.orderId, state: AckState.ACCEPTED });
      started();
      if (kind === "coin" && command.coins === 13) throw new Error("coin jam");
      if (kind === "coin") await options.hold;
      return { orderId: command.orderId, state: AckState.DONE, progress: 100 };
    },
  });
  const registry: Registry<ClientContext> = clientRegistry()
    .register(CommandDef, guarded("coin"))
    .register(RefundDef, guarded("refund"));
  return { registry, executions, running };
}

async function finalAck(iterable: AsyncIterable<Ack>): Promise<Ack[]> {
  const acks: Ack[] = [];
  for await (const ack of iterable) acks.push(ack);
  return acks;
}

describe("device record of executed commands", () => {
  it("namespaces keys by message: Refund{A-1} after Coin{A-1} runs, and each answers its own", async () => {
    const server = await startLoginServer(pki);
    const box = device();
    const store = new MemoryIdempotencyStore();
    const client = makeClient(pki, server.port, { registry: box.registry, idempotencyStore: store });
    client.start();
    await nextEvent(client, "online");
    const coin = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "A-1", coins: 1 },
      { isFinal: ackIsFinal },
    );
    const refund = await server.server.request(
      "device-001",
      refundSpec,
      { orderId: "A-1", coins: 1 },
      { isFinal: ackIsFinal },
    );
    expect(coin).toMatchObject({ orderId: "A-1", state: AckState.DONE });
    expect(refund).toMatchObject({ orderId: "A-1", state: AckState.DONE });
    expect(box.executions).toEqual(["coin:A-1", "refund:A-1"]);
    expect(store.get("paytest.Command/A-1")?.done).toBe(true);
    expect(store.get("paytest.Refund/A-1")?.done).toBe(true);
    // The duplicate of each is answered from its own record.
    await server.server.request(
      "device-001",
      refundSpec,
      { orderId: "A-1", coins: 1 },
      { isFinal: ackIsFinal },
    );
    expect(box.executions).toEqual(["coin:A-1", "refund:A-1"]);
  });

  it("refuses a command without a correlation value with CORRELATION_MISSING, never running or deduplicating it", async () => {
    const errors: ErrorMsg[] = [];
    const server = await startLoginServer(pki, { onErrorMessage: (error) => errors.push(error) });
    const box = device();
    const client = makeClient(pki, server.port, {
      registry: box.registry,
      idempotencyStore: new MemoryIdempotencyStore(),
      errorMessage: testErrorMessage,
    });
    const reported: PaynetError[] = [];
    client.on("error", (error) => reported.push(error));
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "", coins: 1 });
    await server.server.send("device-001", CommandDef, { orderId: "", coins: 2 });
    await expect.poll(() => errors.length).toBe(2);
    expect(errors[0]?.msg).toContain("correlation value is empty: the command is refused, not deduplicated");
    expect(reported.map((error) => error.code)).toEqual(["CORRELATION_MISSING", "CORRELATION_MISSING"]);
    expect(reported[0]?.messageName).toBe("paytest.Command");
    expect(box.executions).toEqual([]);
  });

  it("writes and fdatasyncs a command's record before its handler runs, and each ack before it is sent", async () => {
    const path = join(root, `device-${++serial}.journal`);
    await (await FileIdempotencyStore.open(path)).close();
    // One log in order: the journal's writes and syncs (device), the handler, and acks at the server.
    const log: string[] = [];
    const io: JournalIo = {
      ...nodeJournalIo,
      open: async (file) => {
        const opened = await nodeJournalIo.open(file);
        return {
          ...opened,
          write: async (bytes, position) => {
            log.push("write");
            await opened.write(bytes, position);
          },
          datasync: async () => {
            await opened.datasync();
            log.push("datasync");
          },
        };
      },
    };
    const server = await startLoginServer(pki, { onAck: (ack) => log.push(`server got ${ack.state}`) });
    const store = await FileIdempotencyStore.open(path, { io });
    const registry = clientRegistry().register(CommandDef, {
      reply: AckDef,
      idempotencyKey: (command: Command) => command.orderId,
      handler: async (command: Command, ctx: ClientContext): Promise<Ack> => {
        log.push("handler");
        await ctx.reply({ orderId: command.orderId, state: AckState.ACCEPTED });
        return { orderId: command.orderId, state: AckState.DONE };
      },
    });
    const client = makeClient(pki, server.port, { registry, idempotencyStore: store });
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "S-1", coins: 1 });
    await expect.poll(() => log.at(-1)).toBe(`server got ${AckState.DONE}`);
    // The claim is on disk before anything runs: a crash from here on is "interrupted", never a rerun.
    expect(log.slice(0, 3)).toEqual(["write", "datasync", "handler"]);
    // Each ack is in the record (its own write synced) before the server can see it.
    const syncs = log.flatMap((line, at) => (line === "datasync" ? [at] : []));
    const nthSync = (n: number) => syncs[n]!;
    expect(syncs).toHaveLength(3);
    expect(log.indexOf(`server got ${AckState.ACCEPTED}`)).toBeGreaterThan(nthSync(1));
    expect(log.indexOf(`server got ${AckState.DONE}`)).toBeGreaterThan(nthSync(2));
    await client.stop();
    await store.close();
  });

  it("answers a command interrupted by a restart with its failure reply, never runs it again, and reports it once", async () => {
    const path = join(root, `device-${++serial}.journal`);
    const server = await startLoginServer(pki);
    // First life: the command starts (ACCEPTED sent) and the device goes away mid-execution.
    const first = device({ hold: new Promise(() => {}) });
    const store1 = await FileIdempotencyStore.open(path);
    const client1 = makeClient(pki, server.port, { registry: first.registry, idempotencyStore: store1 });
    client1.start();
    await nextEvent(client1, "online");
    const acks = finalAck(
      server.server.deliver("device-001", commandSpec, { orderId: "O-7", coins: 2 }, { isFinal: ackIsFinal }),
    );
    await first.running;
    await client1.stop();
    await store1.close();

    // Second life: the same journal. The redelivery is answered FAILED, "interrupted".
    const second = device();
    const store2 = await FileIdempotencyStore.open(path);
    const client2 = makeClient(pki, server.port, { registry: second.registry, idempotencyStore: store2 });
    const interrupted: InterruptedCommand[] = [];
    client2.on("interrupted", (info) => interrupted.push(info));
    client2.start();
    const delivered = await acks;
    expect(delivered.map((ack) => ack.state)).toEqual([AckState.ACCEPTED, AckState.FAILED]);
    expect(delivered.at(-1)).toMatchObject({ orderId: "O-7", error: INTERRUPTED_REASON });
    expect(INTERRUPTED_REASON).toMatch(/^interrupted, reconcile manually/);
    expect(interrupted).toEqual([
      { type: CommandDef.type, messageName: "paytest.Command", key: "O-7", reason: INTERRUPTED_REASON },
    ]);
    expect(second.executions).toEqual([]);
    expect(store2.get("paytest.Command/O-7")).toMatchObject({ done: true, failed: INTERRUPTED_REASON });

    // Once more: the same failure, no new event, still not executed.
    const again = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "O-7", coins: 2 },
      { isFinal: ackIsFinal },
    );
    expect(again).toMatchObject({ state: AckState.FAILED, error: INTERRUPTED_REASON });
    expect(interrupted).toHaveLength(1);
    expect(second.executions).toEqual([]);
    await client2.stop();
    await store2.close();
  });

  it("without a failure reply, tells the server through the error message that the command was interrupted", async () => {
    const path = join(root, `device-${++serial}.journal`);
    const setup = await FileIdempotencyStore.open(path);
    // What a killed process leaves: claimed, ACCEPTED recorded, never finished.
    await setup.set("paytest.Command/O-8", { replies: [], done: false });
    await setup.close();
    const errors: ErrorMsg[] = [];
    const server = await startLoginServer(pki, { onErrorMessage: (error) => errors.push(error) });
    const box = device({ failureReply: false });
    const store = await FileIdempotencyStore.open(path);
    const client = makeClient(pki, server.port, {
      registry: box.registry,
      idempotencyStore: store,
      errorMessage: testErrorMessage,
    });
    client.start();
    await nextEvent(client, "online");
    const event = nextEvent(client, "interrupted");
    await server.server.send("device-001", CommandDef, { orderId: "O-8", coins: 1 });
    expect((await event)[0]).toMatchObject({ key: "O-8" });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.msg).toContain(`command O-8: ${INTERRUPTED_REASON}; not executed again`);
    expect(box.executions).toEqual([]);
    await client.stop();
    await store.close();
  });

  it("answers a command whose handler threw with the failure reply, then every redelivery the same way", async () => {
    const server = await startLoginServer(pki);
    const box = device();
    const client = makeClient(pki, server.port, {
      registry: box.registry,
      idempotencyStore: new MemoryIdempotencyStore(),
    });
    client.on("error", () => {});
    client.start();
    await nextEvent(client, "online");
    const acks = await finalAck(
      server.server.deliver(
        "device-001",
        commandSpec,
        { orderId: "J-1", coins: 13 },
        { isFinal: ackIsFinal },
      ),
    );
    expect(acks.map((ack) => ack.state)).toEqual([AckState.ACCEPTED, AckState.FAILED]);
    expect(acks.at(-1)?.error).toBe("handler failed: coin jam");
    const again = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "J-1", coins: 13 },
      { isFinal: ackIsFinal },
    );
    expect(again).toMatchObject({ state: AckState.FAILED, error: "handler failed: coin jam" });
    expect(box.executions).toEqual(["coin:J-1"]);
  });

  it("warns when guarded commands are recorded in memory only, and not with a store given", () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_: unknown, message: string) => warnings.push(message),
    };
    makeClient(pki, 1, { registry: device().registry, logger });
    expect(warnings).toEqual([
      "commands paytest.Command, paytest.Refund are deduplicated in memory only: after a restart a redelivered command runs again; pass idempotencyStore (FileIdempotencyStore) to remember across restarts",
    ]);
    makeClient(pki, 1, {
      registry: device().registry,
      logger,
      idempotencyStore: new MemoryIdempotencyStore(),
    });
    makeClient(pki, 1, { registry: clientRegistry(), logger });
    expect(warnings).toHaveLength(1);
  });
});
