import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageDef } from "../../runtime/src/codec.js";
import { FrameConnection, type FrameConnectionOptions } from "../../runtime/src/connection.js";
import {
  ConnectionClosedError,
  EncodeError,
  FrameTooLargeError,
  type PaynetError,
  QueueFullError,
  ReadTimeoutError,
} from "../../runtime/src/errors.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import type { Writer } from "../../runtime/src/protobuf/index.js";
import { TrafficStats } from "../../runtime/src/stats.js";
import { TimerWheel } from "../../runtime/src/timers.js";
import { type Command, CommandDef, nameOfType, PingDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";

let pki: TestPki;
let server: tls.Server;
const accepted: tls.TLSSocket[] = [];
const waitingForAccept: Array<(socket: tls.TLSSocket) => void> = [];
const opened: tls.TLSSocket[] = [];

beforeAll(async () => {
  pki = await makeTestPki();
  server = tls.createServer(
    { cert: pki.server.cert, key: pki.server.key, minVersion: "TLSv1.3" },
    (socket) => {
      socket.on("error", () => {});
      const waiter = waitingForAccept.shift();
      if (waiter) waiter(socket);
      else accepted.push(socket);
    },
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
});

afterAll(async () => {
  for (const socket of opened) socket.destroy();
  server.close();
});

/** A real TLS 1.3 connection over 127.0.0.1: the device side and the server side. */
async function tlsPair(): Promise<{ device: tls.TLSSocket; cloud: tls.TLSSocket }> {
  const cloud = new Promise<tls.TLSSocket>((resolve) => {
    const ready = accepted.shift();
    if (ready) resolve(ready);
    else waitingForAccept.push(resolve);
  });
  const device = tls.connect({
    host: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    servername: "localhost",
    ca: pki.ca.cert,
  });
  device.on("error", () => {});
  await once(device, "secureConnect");
  const cloudSocket = await cloud;
  opened.push(device, cloudSocket);
  return { device, cloud: cloudSocket };
}

interface Received {
  type: number;
  payload: Buffer;
}

/** Wraps a socket in a FrameConnection that records frames and the close reason. */
function connect(socket: tls.TLSSocket, options: Partial<FrameConnectionOptions> = {}) {
  const frames: Received[] = [];
  const closes: PaynetError[] = [];
  let frameListener: (() => void) | undefined;
  let resolveClosed!: (reason: PaynetError) => void;
  const closed = new Promise<PaynetError>((resolve) => {
    resolveClosed = resolve;
  });
  const connection = new FrameConnection(
    socket,
    {
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      wheel: new TimerWheel({ tickMs: 5 }),
      ...options,
    },
    {
      onFrame(type, payload) {
        frames.push({ type, payload: Buffer.from(payload) });
        frameListener?.();
      },
      onClose(reason) {
        closes.push(reason);
        resolveClosed(reason);
      },
    },
  );
  /** Resolves once `count` frames have arrived in total. */
  const framesReceived = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (frames.length >= count) resolve();
      };
      frameListener = check;
      check();
    });
  return { connection, frames, closes, closed, framesReceived };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Counts the `write()` calls made on `socket` from now on. */
function countWrites(socket: tls.TLSSocket): () => number {
  let writes = 0;
  const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
  socket.write = ((chunk: Buffer) => {
    writes++;
    return write(chunk);
  }) as typeof socket.write;
  return () => writes;
}

describe("FrameConnection over TLS", () => {
  it("coalesces frames sent in the same tick into one socket write and delivers them in order", async () => {
    const { device, cloud } = await tlsPair();
    const writes = countWrites(device);
    const stats = new TrafficStats();
    const sender = connect(device, { stats });
    const receiver = connect(cloud, { stats });

    for (let i = 0; i < 100; i++) {
      sender.connection.send(CommandDef.type, CommandDef.codec.encode({ orderId: `o-${i}`, coins: i }));
    }
    sender.connection.send(0x83, new Uint8Array(0));
    expect(sender.connection.queuedFrames).toBe(101);
    await receiver.framesReceived(101);

    expect(writes()).toBe(1);
    expect(receiver.frames.slice(0, 100).map((f) => CommandDef.codec.decode(f.payload).orderId)).toEqual(
      Array.from({ length: 100 }, (_, i) => `o-${i}`),
    );
    expect(receiver.frames[100]).toEqual({ type: 0x83, payload: Buffer.alloc(0) });
    expect(sender.connection.queuedFrames).toBe(0);
    const snapshot = stats.snapshot(nameOfType);
    expect(snapshot.framesOut["0x04 paytest.Command"]?.frames).toBe(100);
    expect(snapshot.framesIn["0x04 paytest.Command"]).toEqual(snapshot.framesOut["0x04 paytest.Command"]);
    expect(snapshot.framesIn["0x83 paytest.Pong"]).toEqual({ frames: 1, bytes: 5 });
    sender.connection.destroy(new ConnectionClosedError("test done"));
  });

  it("reuses batch buffers across writes and connections without corrupting a frame", async () => {
    // TLS sockets encrypt a write before it returns, so a batch buffer is pooled for the next batch
    // (of any connection). Interleave two connections over many turns, one of them backpressured for
    // a while, and check every frame byte for byte.
    const a = await tlsPair();
    const b = await tlsPair();
    // Distinct memory written from: (ArrayBuffer, offset) pairs (small buffers share Node's pool slab).
    const chunks = new Map<ArrayBufferLike, Set<number>>();
    const distinct = () => [...chunks.values()].reduce((sum, offsets) => sum + offsets.size, 0);
    for (const socket of [a.device, b.device]) {
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
      socket.write = ((chunk: Buffer) => {
        const offsets = chunks.get(chunk.buffer) ?? new Set<number>();
        offsets.add(chunk.byteOffset);
        chunks.set(chunk.buffer, offsets);
        return write(chunk);
      }) as typeof socket.write;
    }
    const senders = [connect(a.device), connect(b.device)];
    const receivers = [connect(a.cloud), connect(b.cloud)];
    b.cloud.pause(); // b's peer reads only later: its writes back up meanwhile
    const turns = 200;
    const perTurn = 8;
    const expected: string[][] = [[], []];
    for (let turn = 0; turn < turns; turn++) {
      for (let side = 0; side < 2; side++) {
        for (let i = 0; i < perTurn; i++) {
          const orderId = `${side}-${turn}-${i}-${"x".repeat((turn * 7 + i) % 40)}`;
          expected[side]!.push(orderId);
          senders[side]!.connection.send(CommandDef.type, CommandDef.codec.encode({ orderId, coins: i }));
        }
      }
      await tick();
      if (turn === turns / 2) b.cloud.resume();
    }
    await Promise.all(receivers.map((r, side) => r.framesReceived(expected[side]!.length)));
    for (let side = 0; side < 2; side++) {
      expect(receivers[side]!.frames.map((f) => CommandDef.codec.decode(f.payload).orderId)).toEqual(
        expected[side],
      );
    }
    // Far fewer distinct buffers than writes: the batches were pooled.
    expect(distinct()).toBeLessThan(turns / 4);
    for (const sender of senders) sender.connection.destroy(new ConnectionClosedError("test done"));
  });

  it("refuses frames with QueueFullError once a peer that never reads has filled the bounded queue", async () => {
    const { device, cloud } = await tlsPair();
    cloud.pause(); // the peer never reads
    const maxFrames = 20;
    const maxBytes = 100_000;
    const sender = connect(device, { outboundQueue: { maxFrames, maxBytes } });
    const payload = new Uint8Array(16_000);

    let refused: unknown;
    for (let i = 0; i < 10_000 && refused === undefined; i++) {
      try {
        sender.connection.send(PingDef.type, payload);
      } catch (error) {
        refused = error;
      }
      expect(sender.connection.queuedFrames).toBeLessThanOrEqual(maxFrames);
      if (!sender.connection.backpressured) await tick();
    }
    expect(refused).toBeInstanceOf(QueueFullError);
    expect(refused).toMatchObject({ code: "QUEUE_FULL", queue: "outbound" });
    expect(sender.connection.backpressured).toBe(true);
    expect(sender.connection.queuedBytes).toBeLessThanOrEqual(maxBytes);
    expect(sender.connection.queuedBytes + 16_005).toBeGreaterThan(maxBytes);
    expect(sender.connection.closed).toBe(false);
    // Still refused, never silently dropped or grown.
    expect(() => sender.connection.send(PingDef.type, payload)).toThrow(QueueFullError);

    // Once the peer reads again, the queue drains and sending works.
    const receiver = connect(cloud);
    cloud.resume();
    while (sender.connection.backpressured || sender.connection.queuedFrames > 0) await once(device, "drain");
    sender.connection.send(PingDef.type, payload);
    sender.connection.destroy(new ConnectionClosedError("test done"));
    receiver.connection.destroy(new ConnectionClosedError("test done"));
  });

  it("closes a slow trickle (bytes but no complete frame) with ReadTimeoutError", async () => {
    const { device, cloud } = await tlsPair();
    const receiver = connect(cloud, { readTimeoutMs: 150 });
    const frame = encodeFrame(PingDef.type, new Uint8Array(500));
    // The receiver closes while bytes are still in flight, so the kernel may answer with a reset:
    // ECONNRESET on this side is one expected end, not a failure.
    const closed = new Promise<unknown>((resolve) => {
      device.on("error", () => {});
      device.once("close", resolve);
    });
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < frame.length && !device.destroyed) device.write(frame.subarray(sent, ++sent));
    }, 20);
    try {
      const reason = await receiver.closed;
      expect(reason).toBeInstanceOf(ReadTimeoutError);
      expect(reason.code).toBe("READ_TIMEOUT");
      expect(reason.peer).toBe(receiver.connection.peer);
      expect(receiver.frames).toEqual([]);
      expect(sent).toBeLessThan(frame.length);
      expect(receiver.connection.lastByteAt).toBeGreaterThan(receiver.connection.lastFrameAt);
    } finally {
      clearInterval(trickle);
    }
    await closed;
  });

  it("keeps a connection whose frames keep coming and times it out once they stop", async () => {
    const { device, cloud } = await tlsPair();
    const readTimeoutMs = 1_000;
    const receiver = connect(cloud, { readTimeoutMs });
    const sender = connect(device);
    // Frames 10 ms apart (far inside the read timeout, even on a loaded machine) for longer than the
    // read timeout: only re-arming keeps the connection.
    let sent = 0;
    const since = performance.now();
    while (performance.now() - since < 1.5 * readTimeoutMs) {
      sender.connection.send(PingDef.type, PingDef.codec.encode({ uptime: sent++ }));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await receiver.framesReceived(sent);
    expect(receiver.closes).toEqual([]);
    const reason = await receiver.closed;
    expect(reason).toBeInstanceOf(ReadTimeoutError);
    expect(receiver.frames).toHaveLength(sent);
    expect((await sender.closed).code).toBe("CONNECTION_CLOSED");
  });

  it("closes only the connection that announced an oversize frame, with FrameTooLargeError", async () => {
    const bad = await tlsPair();
    const good = await tlsPair();
    const badReceiver = connect(bad.cloud, { maxFrame: 1024 });
    const goodReceiver = connect(good.cloud, { maxFrame: 1024 });
    const badSender = connect(bad.device);
    const goodSender = connect(good.device);

    bad.device.write(Buffer.from([0x00, 0x10, 0x00, 0x00, 0x04]));
    const reason = await badReceiver.closed;
    expect(reason).toBeInstanceOf(FrameTooLargeError);
    expect(reason).toMatchObject({ length: 0x100000, maxFrame: 1024, peer: badReceiver.connection.peer });
    expect(await badSender.closed).toBeInstanceOf(ConnectionClosedError);

    goodSender.connection.send(PingDef.type, PingDef.codec.encode({ uptime: 7 }));
    await goodReceiver.framesReceived(1);
    expect(PingDef.codec.decode(goodReceiver.frames[0]!.payload).uptime).toBe(7);
    expect(goodReceiver.connection.closed).toBe(false);
    goodSender.connection.destroy(new ConnectionClosedError("test done"));
  });

  it("refuses to send a frame larger than maxFrame", async () => {
    const { device } = await tlsPair();
    const sender = connect(device, { maxFrame: 100 });
    expect(() => sender.connection.send(1, new Uint8Array(100))).toThrow(FrameTooLargeError);
    sender.connection.send(1, new Uint8Array(99));
    sender.connection.destroy(new ConnectionClosedError("test done"));
  });

  describe("sendMessage with a codec that writes into the batch", () => {
    /** `Command` written field by field, the way generated codecs' `write` does. */
    const writtenCommand = (fail = false): MessageDef<Command> => ({
      ...CommandDef,
      codec: {
        ...CommandDef.codec,
        write: (command: Command, writer: Writer) => {
          writer.uint32(10).string(command.orderId);
          if (fail) throw new TypeError("coins: integer expected");
          return writer.uint32(16).uint32(command.coins);
        },
      },
    });

    it("sends the bytes send(encode()) sends, coalesced with other frames in one write", async () => {
      const { device, cloud } = await tlsPair();
      const writes = countWrites(device);
      const sender = connect(device);
      const receiver = connect(cloud);
      const def = writtenCommand();
      for (let i = 0; i < 50; i++) {
        sender.connection.sendMessage(def, { orderId: `o-${i}-${"x".repeat(i * 5)}`, coins: i });
        sender.connection.send(PingDef.type, PingDef.codec.encode({ uptime: i }));
      }
      await receiver.framesReceived(100);
      expect(writes()).toBe(1);
      for (let i = 0; i < 50; i++) {
        const { type, payload } = receiver.frames[2 * i]!;
        expect(type).toBe(CommandDef.type);
        expect(payload).toEqual(
          Buffer.from(CommandDef.codec.encode({ orderId: `o-${i}-${"x".repeat(i * 5)}`, coins: i })),
        );
        expect(PingDef.codec.decode(receiver.frames[2 * i + 1]!.payload).uptime).toBe(i);
      }
      sender.connection.destroy(new ConnectionClosedError("test done"));
    });

    it("a codec that throws halfway is an EncodeError and leaves nothing of the message behind", async () => {
      const { device, cloud } = await tlsPair();
      const sender = connect(device);
      const receiver = connect(cloud);
      sender.connection.send(PingDef.type, PingDef.codec.encode({ uptime: 1 }));
      const queuedBytes = sender.connection.queuedBytes;
      let thrown: unknown;
      try {
        sender.connection.sendMessage(writtenCommand(true), { orderId: "o-1", coins: 1 });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(EncodeError);
      expect(thrown).toMatchObject({
        code: "ENCODE_ERROR",
        messageName: "paytest.Command",
        frameType: CommandDef.type,
        peer: sender.connection.peer,
        message: expect.stringContaining("cannot encode paytest.Command: coins: integer expected"),
      });
      expect(sender.connection.queuedFrames).toBe(1);
      expect(sender.connection.queuedBytes).toBe(queuedBytes);
      sender.connection.sendMessage(writtenCommand(), { orderId: "o-2", coins: 2 });
      await receiver.framesReceived(2);
      expect(receiver.frames.map((f) => f.type)).toEqual([PingDef.type, CommandDef.type]);
      expect(CommandDef.codec.decode(receiver.frames[1]!.payload)).toMatchObject({
        orderId: "o-2",
        coins: 2,
      });
      sender.connection.destroy(new ConnectionClosedError("test done"));
    });

    it("refuses a message whose encoding exceeds maxFrame, and one the full queue cannot take", async () => {
      const { device, cloud } = await tlsPair();
      const sender = connect(device, { maxFrame: 100, outboundQueue: { maxFrames: 1000, maxBytes: 1000 } });
      expect(() =>
        sender.connection.sendMessage(writtenCommand(), { orderId: "x".repeat(100), coins: 1 }),
      ).toThrow(FrameTooLargeError);
      expect(sender.connection.queuedFrames).toBe(0);
      expect(sender.connection.queuedBytes).toBe(0);

      cloud.pause(); // the peer never reads: the socket backs up, then the bounded queue fills
      let refused: unknown;
      for (let i = 0; i < 100_000 && refused === undefined; i++) {
        try {
          sender.connection.sendMessage(writtenCommand(), { orderId: "y".repeat(90), coins: i });
        } catch (error) {
          refused = error;
        }
        if (!sender.connection.backpressured) await tick();
      }
      expect(refused).toBeInstanceOf(QueueFullError);
      expect(sender.connection.queuedBytes).toBeLessThanOrEqual(1000);
      expect(sender.connection.queuedBytes + 99).toBeGreaterThan(1000);
      sender.connection.destroy(new ConnectionClosedError("test done"));
    });
  });

  it("flushes queued frames on close() and reports the close reason exactly once", async () => {
    const { device, cloud } = await tlsPair();
    const sender = connect(cloud);
    const receiver = connect(device);
    for (let i = 0; i < 50; i++) sender.connection.send(PingDef.type, PingDef.codec.encode({ uptime: i }));
    const reason = new ConnectionClosedError("server stopping");
    sender.connection.close(reason);
    sender.connection.close(new ConnectionClosedError("second close is ignored"));
    expect(sender.connection.closed).toBe(true);
    expect(() => sender.connection.send(PingDef.type, new Uint8Array(0))).toThrow(ConnectionClosedError);

    expect(await receiver.closed).toMatchObject({ code: "CONNECTION_CLOSED", reason: "peer closed" });
    expect(receiver.frames.map((f) => PingDef.codec.decode(f.payload).uptime)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(await sender.closed).toBe(reason);
    sender.connection.destroy(new ConnectionClosedError("after the end"));
    await tick();
    expect(sender.closes).toEqual([reason]);
    expect(receiver.closes).toHaveLength(1);
  });

  it("destroys the socket when close() cannot flush within closeTimeoutMs", async () => {
    const { device, cloud } = await tlsPair();
    cloud.pause(); // the peer never reads, so the queue never drains
    const sender = connect(device, { closeTimeoutMs: 30 });
    const payload = new Uint8Array(16_000);
    while (!sender.connection.backpressured) {
      sender.connection.send(PingDef.type, payload);
      await tick();
    }
    sender.connection.send(PingDef.type, payload);
    const reason = new ConnectionClosedError("shutting down");
    sender.connection.close(reason);
    expect(await sender.closed).toBe(reason);
    expect(device.destroyed).toBe(true);
    expect(sender.closes).toEqual([reason]);
  });

  it("works over a plain TCP socket too", async () => {
    const plain = net.createServer();
    plain.listen(0, "127.0.0.1");
    await once(plain, "listening");
    try {
      const accepted = once(plain, "connection") as Promise<[net.Socket]>;
      const client = net.connect((plain.address() as AddressInfo).port, "127.0.0.1");
      await once(client, "connect");
      const [serverSide] = await accepted;
      const received: number[] = [];
      let closedWith: PaynetError | undefined;
      const done = new Promise<void>((resolve) => {
        new FrameConnection(
          serverSide,
          { peer: "tcp", lengthMode: "payload" },
          {
            onFrame: (type) => {
              received.push(type);
              if (received.length === 2) resolve();
            },
            onClose: (reason) => {
              closedWith = reason;
            },
          },
        );
      });
      const sender = new FrameConnection(
        client,
        { peer: "tcp-client", lengthMode: "payload" },
        { onFrame() {}, onClose() {} },
      );
      sender.send(1, new Uint8Array(0));
      sender.send(2, Uint8Array.from([1, 2, 3]));
      await done;
      expect(received).toEqual([1, 2]);
      sender.close(new ConnectionClosedError("bye"));
      await once(serverSide, "close");
      expect(closedWith).toBeInstanceOf(ConnectionClosedError);
    } finally {
      plain.close();
    }
  });

  it("reports a destroyed peer as ConnectionClosedError and refuses further sends", async () => {
    const { device, cloud } = await tlsPair();
    const receiver = connect(cloud);
    device.destroy();
    const reason = await receiver.closed;
    expect(reason).toBeInstanceOf(ConnectionClosedError);
    expect(receiver.connection.closed).toBe(true);
    expect(() => receiver.connection.send(1, new Uint8Array(0))).toThrow(ConnectionClosedError);
    expect(receiver.closes).toHaveLength(1);
  });

  it("destroy() drops queued frames and calls onClose at once", async () => {
    const { device, cloud } = await tlsPair();
    const sender = connect(device);
    const receiver = connect(cloud);
    sender.connection.send(PingDef.type, new Uint8Array(0));
    const reason = new ConnectionClosedError("gone");
    sender.connection.destroy(reason);
    expect(sender.closes).toEqual([reason]);
    expect(sender.connection.queuedFrames).toBe(0);
    await receiver.closed;
    expect(receiver.frames).toEqual([]);
  });

  it("names the updated peer in later errors", async () => {
    const { device, cloud } = await tlsPair();
    const receiver = connect(cloud, { maxFrame: 16 });
    receiver.connection.peer = `${receiver.connection.peer} dev-42`;
    device.write(Buffer.from([0, 0, 1, 0, 1]));
    const reason = await receiver.closed;
    expect(reason.peer).toMatch(/ dev-42$/);
    expect(reason.message).toMatch(/dev-42/);
  });
});
