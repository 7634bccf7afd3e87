import { describe, expect, it } from "vitest";
import { QueueFullError } from "../../runtime/src/errors.js";
import type { ServerSession } from "../../runtime/src/server/session.js";
import {
  collectErrors,
  makeClient,
  nextEvent,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import { PingDef, pingSpec } from "../helpers/messages.js";
import { scaled } from "../helpers/time.js";

const pki = await setUpClientTests();

describe("PaynetClient: sending", () => {
  it("rejects send/request/stream with NotConnectedError while offline by default", async () => {
    const client = makeClient(pki, 9);
    await expect(client.send(PingDef, { timestamp: 1 })).rejects.toMatchObject({
      code: "NOT_CONNECTED",
      message: "not connected: cannot send paytest.Ping (peer 127.0.0.1:9, paytest.Ping)",
    });
    await expect(client.request(pingSpec, {})).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    const iterator = client.stream(pingSpec, {})[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
  });

  it("writes to the connection while online; request() and stream() get their replies", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "online");
    await expect(client.request(pingSpec, { timestamp: 8 })).resolves.toEqual({ timestamp: "8" });
    const replies = [];
    for await (const pong of client.stream(pingSpec, { timestamp: 9 })) replies.push(pong);
    expect(replies).toEqual([{ timestamp: "9" }]);
    await client.send(PingDef, { timestamp: 7 });
    await expect.poll(() => server.pings).toEqual(["8", "9", "7"]);
    // The Pong to the plain send arrives with nobody waiting: counted, ignored, no error.
    await expect.poll(() => client.stats().framesIn["0x83 paytest.Pong"]?.frames).toBe(3);
    expect(client.stats().framesOut["0x03 paytest.Ping"]).toEqual({ frames: 3, bytes: 3 * (5 + 2) });
  });

  it("fails a pending request with the close reason when the connection drops", async () => {
    const server = await startLoginServer(pki, { answerPings: false });
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "online");
    const pending = client.request(pingSpec, { timestamp: 1 }, { timeoutMs: 5_000 });
    await expect.poll(() => server.pings.length).toBe(1);
    (server.server.session("device-001") as ServerSession).close("bye");
    await expect(pending).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });

  it("queues messages while offline and flushes them in order right after login", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { offlineQueue: { maxMessages: 3 } });
    await client.send(PingDef, { timestamp: 1 });
    await client.send(PingDef, { timestamp: 2 });
    await client.send(PingDef, { timestamp: 3 });
    expect(client.stats().offlineQueue).toEqual({ messages: 3, bytes: 3 * 7 });
    const overflow = client.send(PingDef, { timestamp: 4 });
    await expect(overflow).rejects.toBeInstanceOf(QueueFullError);
    await expect(overflow).rejects.toMatchObject({ code: "QUEUE_FULL", queue: "offline" });
    client.start();
    await nextEvent(client, "online");
    await client.send(PingDef, { timestamp: 5 });
    await expect.poll(() => server.pings).toEqual(["1", "2", "3", "5"]);
    expect(client.stats().offlineQueue).toEqual({ messages: 0, bytes: 0 });
  });

  it("writes a backlog bigger than the outbound queue at the pace the connection drains: none lost, in order", async () => {
    const server = await startLoginServer(pki, { answerPings: false });
    const client = makeClient(pki, server.port, {
      offlineQueue: { maxMessages: 5_000, maxBytes: 16 * 1024 * 1024 },
      // A small outbound bound: the backlog must wait for drains rather than overflow it.
      outboundQueue: { maxFrames: 16, maxBytes: 64 * 1024 },
    });
    const errors = collectErrors(client);
    const ip = "x".repeat(1_000);
    for (let i = 1; i <= 3_000; i++) await client.send(PingDef, { timestamp: i, ip });
    client.start();
    await nextEvent(client, "online");
    // Sent while the backlog is still being written: it goes behind it.
    await client.send(PingDef, { timestamp: 3_001 });
    await expect.poll(() => server.pings.length, { timeout: scaled(60_000) }).toBe(3_001);
    expect(server.pings).toEqual(Array.from({ length: 3_001 }, (_, i) => String(i + 1)));
    expect(errors).toEqual([]);
    expect(client.stats().offlineQueue).toEqual({ messages: 0, bytes: 0 });
  });

  it("queues during a reconnect too, and the login itself bypasses the queue", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, {
      offlineQueue: {},
      reconnect: { initialDelayMs: 150, maxDelayMs: 150, jitter: 0 },
    });
    client.start();
    await nextEvent(client, "online");
    const offline = nextEvent(client, "offline");
    (server.server.session("device-001") as ServerSession).close("drop");
    await offline;
    await client.send(PingDef, { timestamp: 42 });
    expect(client.stats().offlineQueue.messages).toBe(1);
    await nextEvent(client, "online");
    await expect.poll(() => server.pings).toEqual(["42"]);
    expect(server.logins).toHaveLength(2);
  });

  it("keeps a queued message past maxAgeMs and refuses new sends at send() instead", async () => {
    const client = makeClient(pki, 9, { offlineQueue: { maxAgeMs: 30 } });
    const errors = collectErrors(client);
    await client.send(PingDef, { timestamp: 1 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(client.send(PingDef, { timestamp: 2 })).rejects.toMatchObject({
      code: "QUEUE_FULL",
      queue: "offline",
      peer: "127.0.0.1:9",
    });
    // The message whose send() resolved is still there; nothing was dropped behind the caller's back.
    expect(client.stats().offlineQueue.messages).toBe(1);
    expect(errors).toEqual([]);
  });

  it("names the server in the QueueFullError of a full offline queue", async () => {
    const client = makeClient(pki, 9, { offlineQueue: { maxMessages: 1 } });
    await client.send(PingDef, { timestamp: 1 });
    await expect(client.send(PingDef, { timestamp: 2 })).rejects.toMatchObject({
      code: "QUEUE_FULL",
      queue: "offline",
      peer: "127.0.0.1:9",
      message: "offline queue full (maxMessages 1) (peer 127.0.0.1:9, frame type 0x03, paytest.Ping)",
    });
  });
});
