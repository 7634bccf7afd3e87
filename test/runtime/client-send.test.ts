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

  it("drops aged-out messages with an error event naming them", async () => {
    const client = makeClient(pki, 9, { offlineQueue: { maxAgeMs: 30 } });
    const errors = collectErrors(client);
    await client.send(PingDef, { timestamp: 1 });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.code).toBe("NOT_CONNECTED");
    expect(errors[0]?.message).toBe(
      "paytest.Ping dropped from the offline queue: not sent within maxAgeMs 30 ms (peer 127.0.0.1:9, frame type 0x03, paytest.Ping)",
    );
    expect(errors[0]?.peer).toBe("127.0.0.1:9");
    expect(client.stats().offlineQueue.messages).toBe(0);
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
