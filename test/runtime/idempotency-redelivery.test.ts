/**
 * The payment-critical path: a command whose connection drops before its final reply is redelivered
 * by the server after re-login, executed once on the device, and its final ack reaches the server.
 */
import { describe, expect, it } from "vitest";
import type { PaynetClient } from "../../runtime/src/client/client.js";
import type { ClientContext } from "../../runtime/src/client/types.js";
import { MemoryIdempotencyStore } from "../../runtime/src/delivery/idempotency.js";
import { ConnectionClosedError } from "../../runtime/src/errors.js";
import type { Registry } from "../../runtime/src/registry.js";
import type { ServerSession } from "../../runtime/src/server/session.js";
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

/** A coin command handler that acks ACCEPTED, then waits for the test before acking DONE. */
function coinDevice() {
  const executions: string[] = [];
  let release!: () => void;
  const finish = new Promise<void>((resolve) => {
    release = resolve;
  });
  let accepted!: () => void;
  const acceptedSent = new Promise<void>((resolve) => {
    accepted = resolve;
  });
  const registry: Registry<ClientContext> = clientRegistry().register(CommandDef, {
    reply: AckDef,
    idempotencyKey: (command) => command.orderId,
    handler: async (command: Command, ctx): Promise<Ack> => {
      executions.push(command.orderId);
      await ctx.reply({ orderId: command.orderId, state: AckState.ACCEPTED });
      accepted();
      await finish;
      return { orderId: command.orderId, state: AckState.DONE, progress: command.coins };
    },
  });
  return { registry, executions, release, acceptedSent };
}

async function collect(iterable: AsyncIterable<Ack>, into: Ack[]): Promise<void> {
  for await (const ack of iterable) into.push(ack);
}

function dropConnection(client: PaynetClient, session: ServerSession): Promise<unknown> {
  const offline = nextEvent(client, "offline");
  session.destroyWith(new ConnectionClosedError("test: link lost"));
  return offline;
}

describe("device idempotency guard over a dropped connection", () => {
  it("executes a redelivered command once and delivers the final ack over the new connection", async () => {
    const server = await startLoginServer(pki);
    const device = coinDevice();
    const client = makeClient(pki, server.port, { registry: device.registry });
    client.start();
    await nextEvent(client, "online");

    const acks: Ack[] = [];
    const done = collect(
      server.server.deliver(
        "device-001",
        commandSpec,
        { orderId: "order-1", coins: 5 },
        {
          isFinal: ackIsFinal,
          deadlineMs: 10_000,
        },
      ),
      acks,
    );
    await device.acceptedSent;
    await expect.poll(() => acks.length).toBe(1);
    expect(acks[0]).toMatchObject({ orderId: "order-1", state: AckState.ACCEPTED });

    await dropConnection(client, server.server.session("device-001") as ServerSession);
    await nextEvent(client, "online");
    // The server re-sent the command after the re-login; the device answers it from its record.
    await expect.poll(() => acks.length).toBe(2);
    expect(acks[1]).toMatchObject({ orderId: "order-1", state: AckState.ACCEPTED });
    expect(server.server.stats().delivery.redelivered).toBeGreaterThanOrEqual(1);

    device.release();
    await done;
    expect(acks.at(-1)).toMatchObject({ orderId: "order-1", state: AckState.DONE, progress: 5 });
    expect(device.executions).toEqual(["order-1"]);
    expect(server.server.stats().delivery).toMatchObject({ pending: 0, completed: 1 });
  });

  it("holds a final ack produced while offline and sends it right after re-login", async () => {
    const server = await startLoginServer(pki);
    const device = coinDevice();
    const client = makeClient(pki, server.port, {
      registry: device.registry,
      // Long enough that the handler surely finishes while the client is offline.
      reconnect: { initialDelayMs: 200, maxDelayMs: 200, jitter: 0 },
    });
    client.start();
    await nextEvent(client, "online");
    const acks: Ack[] = [];
    const done = collect(
      server.server.deliver(
        "device-001",
        commandSpec,
        { orderId: "order-2", coins: 1 },
        { isFinal: ackIsFinal },
      ),
      acks,
    );
    await device.acceptedSent;
    await dropConnection(client, server.server.session("device-001") as ServerSession);
    expect(client.online).toBe(false);
    device.release(); // DONE is produced with no connection
    await nextEvent(client, "online");
    await done;
    expect(acks.map((a) => a.state)).toContain(AckState.DONE);
    expect(acks.at(-1)).toMatchObject({ orderId: "order-2", state: AckState.DONE });
    expect(device.executions).toEqual(["order-2"]);
  });

  it("without any redelivery, an ack produced while offline still reaches the server after re-login", async () => {
    const received: Ack[] = [];
    const server = await startLoginServer(pki, { onAck: (ack) => received.push(ack) });
    const device = coinDevice();
    const client = makeClient(pki, server.port, {
      registry: device.registry,
      reconnect: { initialDelayMs: 200, maxDelayMs: 200, jitter: 0 },
    });
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "order-4", coins: 1 });
    await device.acceptedSent;
    await expect.poll(() => received.length).toBe(1);
    await dropConnection(client, server.server.session("device-001") as ServerSession);
    device.release();
    await nextEvent(client, "online");
    await expect.poll(() => received.map((a) => a.state)).toEqual([AckState.ACCEPTED, AckState.DONE]);
    expect(device.executions).toEqual(["order-4"]);
  });

  it("answers a command that already finished from the record, without running it again", async () => {
    const server = await startLoginServer(pki);
    const device = coinDevice();
    device.release();
    const store = new MemoryIdempotencyStore();
    const client = makeClient(pki, server.port, { registry: device.registry, idempotencyStore: store });
    client.start();
    await nextEvent(client, "online");
    const first = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "order-3", coins: 2 },
      {
        isFinal: ackIsFinal,
      },
    );
    expect(first).toMatchObject({ state: AckState.DONE, progress: 2 });
    expect(store.get("paytest.Command/order-3")?.done).toBe(true);
    // Same order id again (a duplicate from the cloud): answered with the recorded DONE.
    const again = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "order-3", coins: 2 },
      {
        isFinal: ackIsFinal,
      },
    );
    expect(again).toMatchObject({ orderId: "order-3", state: AckState.DONE, progress: 2 });
    expect(device.executions).toEqual(["order-3"]);
  });

  it("records a failed command and answers its redeliveries with the error message naming the key, never re-running it", async () => {
    const errors: ErrorMsg[] = [];
    const server = await startLoginServer(pki, { onErrorMessage: (error) => errors.push(error) });
    const executions: string[] = [];
    const registry = clientRegistry().register(CommandDef, {
      reply: AckDef,
      idempotencyKey: (command) => command.orderId,
      handler: (command: Command): Ack => {
        executions.push(command.orderId);
        throw new Error("coin jam");
      },
    });
    const store = new MemoryIdempotencyStore();
    const client = makeClient(pki, server.port, {
      registry,
      idempotencyStore: store,
      errorMessage: testErrorMessage,
    });
    client.on("error", () => {});
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "order-f", coins: 1 });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.msg).toContain("coin jam");
    await expect
      .poll(() => store.get("paytest.Command/order-f"))
      .toMatchObject({ done: true, failed: "handler failed: coin jam" });

    // The redelivery (same order id) is answered with the recorded failure, not executed again.
    await server.server.send("device-001", CommandDef, { orderId: "order-f", coins: 1 });
    await expect.poll(() => errors.length).toBe(2);
    expect(errors[1]?.msg).toContain(
      "command order-f failed on its first execution (handler failed: coin jam)",
    );
    expect(errors[1]?.msg).toContain("not executed again");
    expect(executions).toEqual(["order-f"]);
  });
});
