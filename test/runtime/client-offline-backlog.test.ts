/**
 * The offline queue against a server that reads slowly, over real TLS: the backlog written after
 * login goes out at the pace the socket drains (the client waits for `'drain'` instead of overflowing
 * its bounded outbound queue), every message whose `send()` resolved arrives, in order, and what
 * cannot be kept is refused at `send()` with a typed error, never dropped later.
 */
import { once } from "node:events";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import type { PaynetError } from "../../runtime/src/errors.js";
import { FrameDecoder } from "../../runtime/src/frame/decoder.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import { collectErrors, makeClient, nextEvent, setUpClientTests } from "../helpers/client-harness.js";
import { LoginReqDef, LoginRspDef, PingDef, ResultCode } from "../helpers/messages.js";
import type { TestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";

const pki = await setUpClientTests();

/**
 * A TLS server speaking just enough of the test protocol: it answers the login, then stops reading
 * (`pause()`: the kernel buffers fill and the device's socket backs up) until {@link resume}.
 */
class SlowReader {
  readonly pings: number[] = [];
  readonly #server: Server;
  #socket: TLSSocket | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(testPki: TestPki): Promise<SlowReader> {
    const server = createServer({ cert: testPki.server.cert, key: testPki.server.key });
    const reader = new SlowReader(server);
    server.on("secureConnection", (socket) => reader.#serve(socket));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return reader;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  resume(): void {
    this.#socket?.resume();
  }

  async stop(): Promise<void> {
    this.#socket?.destroy();
    this.#server.close();
    await once(this.#server, "close");
  }

  #serve(socket: TLSSocket): void {
    this.#socket = socket;
    socket.on("error", () => {});
    const decoder = new FrameDecoder({
      maxFrame: 1 << 20,
      onFrame: (type, payload) => {
        if (type === LoginReqDef.type) {
          socket.write(encodeFrame(LoginRspDef.type, LoginRspDef.codec.encode({ code: ResultCode.OK })));
          socket.pause();
        } else if (type === PingDef.type) {
          this.pings.push(Number(PingDef.codec.decode(payload).timestamp));
        }
      },
    });
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  }
}

let reader: SlowReader | undefined;
afterEach(async () => {
  await reader?.stop();
  reader = undefined;
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("offline queue and a slow reader over TLS", () => {
  it("flushes at the pace the socket drains, keeps every resolved send, and refuses the rest at send()", async () => {
    reader = await SlowReader.start(pki);
    const maxMessages = 3_000;
    const client = makeClient(pki, reader.port, {
      offlineQueue: { maxMessages, maxBytes: 64 * 1024 * 1024 },
      // A small outbound bound: the backlog must wait for drains rather than overflow it.
      outboundQueue: { maxFrames: 16, maxBytes: 64 * 1024 },
    });
    const errors = collectErrors(client);
    // 8 KiB each: the backlog (24 MiB) is far more than the kernel's socket buffers hold.
    const ip = "x".repeat(8 * 1024);
    const accepted: number[] = [];
    for (let i = 1; i <= maxMessages; i++) {
      await client.send(PingDef, { timestamp: i, ip });
      accepted.push(i);
    }
    client.start();
    await nextEvent(client, "online");
    // The server reads nothing now. Keep sending, giving the client's I/O a turn between sends,
    // until a send is refused: the backlog stalls behind the full socket instead of being dumped
    // into the outbound queue, so the offline queue fills up again.
    let refused: PaynetError | undefined;
    for (let i = maxMessages + 1; refused === undefined; i++) {
      if (i > 4 * maxMessages)
        throw new Error("the offline queue never filled behind a reader that reads nothing");
      await turn();
      try {
        await client.send(PingDef, { timestamp: i, ip });
        accepted.push(i);
      } catch (error) {
        refused = error as PaynetError;
      }
    }
    expect(refused).toMatchObject({ code: "QUEUE_FULL", queue: "offline" });
    expect(client.stats().offlineQueue.messages).toBe(maxMessages);
    // Nothing was dropped behind a caller's back (a dropped frame is reported as an `error` event).
    expect(errors).toEqual([]);
    expect(reader.pings.length).toBeLessThan(accepted.length);

    reader.resume();
    await expect.poll(() => reader!.pings.length, { timeout: scaled(120_000) }).toBe(accepted.length);
    expect(reader.pings).toEqual(accepted);
    expect(errors).toEqual([]);
    expect(client.stats().offlineQueue).toEqual({ messages: 0, bytes: 0 });
    // Drained: sends go straight out again.
    await client.send(PingDef, { timestamp: 0 });
    await expect.poll(() => reader!.pings.at(-1)).toBe(0);
  });

  it("refuses at send() a queued message the connection could never write (over maxFrame)", async () => {
    reader = await SlowReader.start(pki);
    const client = makeClient(pki, reader.port, { offlineQueue: {}, maxFrame: 1_024 });
    const errors = collectErrors(client);
    await client.send(PingDef, { timestamp: 1 });
    await expect(client.send(PingDef, { timestamp: 2, ip: "x".repeat(2_000) })).rejects.toMatchObject({
      code: "FRAME_TOO_LARGE",
      messageName: "paytest.Ping",
      peer: `127.0.0.1:${reader.port}`,
    });
    await client.send(PingDef, { timestamp: 3 });
    expect(client.stats().offlineQueue.messages).toBe(2);
    client.start();
    await nextEvent(client, "online");
    reader.resume();
    await expect.poll(() => reader!.pings).toEqual([1, 3]);
    expect(errors).toEqual([]);
  });
});
