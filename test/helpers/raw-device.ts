/**
 * A minimal device for server tests: a plain `tls.connect` socket speaking `Len | Type | payload`
 * frames with no client logic (no login flow, heartbeat or reconnect), so tests control every byte.
 * It keeps the last TLS 1.3 session ticket for resumption tests.
 */
import { connect, type TLSSocket } from "node:tls";
import type { MessageDef } from "../../runtime/src/codec.js";
import { formatType } from "../../runtime/src/errors.js";
import { FrameDecoder } from "../../runtime/src/frame/decoder.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import type { LengthMode } from "../../runtime/src/frame/options.js";
import { scaled } from "./time.js";

/** Options of {@link RawDevice.connect}. */
export interface RawDeviceOptions {
  port: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** CA that signed the server certificate. */
  ca?: string | Buffer;
  /** Client certificate and key (mTLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** A ticket from an earlier connection's {@link RawDevice.ticket}, to resume. */
  session?: Buffer;
  /** Default `localhost`. */
  servername?: string;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  lengthMode?: LengthMode;
  /** Connect/handshake timeout. Default 5 000 ms. */
  timeoutMs?: number;
}

/** One inbound frame. */
export interface RawFrame {
  readonly type: number;
  readonly payload: Buffer;
}

/** Default safety net of the waits (before the time factor): far above what an idle machine needs. */
const DEFAULT_WAIT_MS = 20_000;

/** See the module comment. */
export class RawDevice {
  readonly socket: TLSSocket;
  /** Resolves when the socket has closed (never rejects). */
  readonly closed: Promise<void>;
  /** Error the socket reported, if any (e.g. the server's TLS alert). */
  error: Error | undefined;
  readonly #inbox: RawFrame[] = [];
  readonly #waiters: Array<() => void> = [];
  readonly #lengthMode: LengthMode;
  #ticket: Buffer | undefined;
  #isClosed = false;

  private constructor(socket: TLSSocket, lengthMode: LengthMode) {
    this.socket = socket;
    this.#lengthMode = lengthMode;
    const decoder = new FrameDecoder({
      lengthMode,
      maxFrame: 0xffff_ffff,
      onFrame: (type, payload) => {
        this.#inbox.push({ type, payload: Buffer.from(payload) });
        this.#wake();
      },
    });
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    socket.on("session", (ticket: Buffer) => {
      // TLS 1.3 servers send up to two tickets per handshake; either works, keep the latest.
      this.#ticket = ticket;
      this.#wake();
    });
    socket.on("error", (error) => {
      this.error = error;
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  /** Connects and completes the TLS handshake; rejects with the socket's error. */
  static connect(options: RawDeviceOptions): Promise<RawDevice> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: options.host ?? "127.0.0.1",
        port: options.port,
        servername: options.servername ?? "localhost",
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.session === undefined ? {} : { session: options.session }),
        minVersion: options.minVersion ?? "TLSv1.2",
        ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
      });
      const device = new RawDevice(socket, options.lengthMode ?? "type+payload");
      const timeoutMs = scaled(options.timeoutMs ?? DEFAULT_WAIT_MS);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`raw device: handshake not done within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        resolve(device);
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Whether the handshake resumed a TLS session. */
  get resumed(): boolean {
    return this.socket.isSessionReused();
  }

  /** The latest session ticket received (TLS 1.3 delivers them after the handshake). */
  get ticket(): Buffer | undefined {
    return this.#ticket;
  }

  /** Whether the socket has closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Waits for a session ticket. */
  async waitForTicket(timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    await this.#until(() => this.#ticket !== undefined, timeoutMs, "a session ticket");
    return this.#ticket!;
  }

  /** Sends one message. */
  send<T>(def: MessageDef<T>, message: T): void {
    this.sendRaw(def.type, def.codec.encode(message));
  }

  /** Sends one frame with any Type and payload bytes. */
  sendRaw(type: number, payload: Uint8Array): void {
    this.socket.write(encodeFrame(type, payload, this.#lengthMode));
  }

  /** Writes raw bytes (partial frames, garbage). */
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next inbound frame of `def`'s Type, decoded; frames of other Types stay queued. */
  async next<T>(def: MessageDef<T>, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    const frame = await this.nextFrame(def.type, timeoutMs);
    return def.codec.decode(frame.payload);
  }

  /** The next inbound frame (of `type`, when given). Rejects on timeout or when the socket closed. */
  async nextFrame(type?: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RawFrame> {
    const find = () => this.#inbox.findIndex((frame) => type === undefined || frame.type === type);
    const what = type === undefined ? "a frame" : `a frame of type ${formatType(type)}`;
    await this.#until(() => find() >= 0 || this.#isClosed, timeoutMs, what);
    const index = find();
    if (index < 0) throw new Error(`raw device: connection closed while waiting for ${what}`);
    return this.#inbox.splice(index, 1)[0]!;
  }

  /** Frames received and not yet taken. */
  get pending(): readonly RawFrame[] {
    return this.#inbox;
  }

  /** Ends the connection gracefully and waits until it has closed. */
  async close(): Promise<void> {
    this.socket.end();
    await this.closed;
  }

  /** Drops the connection at once (like a lost 4G link, from this side). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Waits for `condition`; `safetyMs` (stretched by the time factor) only stops a hung test. */
  async #until(condition: () => boolean, safetyMs: number, what: string): Promise<void> {
    const timeoutMs = scaled(safetyMs);
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`raw device: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters.splice(0);
    for (const wake of waiters) wake();
  }
}
