/**
 * A minimal `Len | Type | payload` client over TLS for the load generators. Deliberately independent
 * of the runtime and identical for every server under test, so differences in the figures come from
 * the servers, not from the load.
 */
import { connect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";

/**
 * One secure context per CA (and client certificate): building a context parses the PEM and creates
 * an OpenSSL context, far more work than a handshake, so a load generator must not do it per socket.
 */
const contexts = new Map<string, SecureContext>();

function contextFor(ca: string, cert?: string, key?: string): SecureContext {
  const id = `${ca}\0${cert ?? ""}`;
  let context = contexts.get(id);
  if (context === undefined) {
    context = createSecureContext({
      ca,
      minVersion: "TLSv1.3",
      ...(cert === undefined ? {} : { cert, key }),
    });
    contexts.set(id, context);
  }
  return context;
}

/** Options of {@link FrameSocket.connect}. */
export interface FrameSocketOptions {
  port: number;
  host?: string;
  ca: string;
  cert?: string;
  key?: string;
  localAddress?: string;
  session?: Buffer;
  timeoutMs?: number;
}

/** A TLS socket that reports whole frames. */
export class FrameSocket {
  readonly socket: TLSSocket;
  /** Called once per complete inbound frame; `payload` is a view, valid during the call. */
  onFrame: (type: number, payload: Buffer) => void = () => {};
  /** Called once per inbound chunk after its frames, with how many frames it completed. */
  onChunk: (frames: number) => void = () => {};
  /** Latest TLS session ticket received. */
  ticket: Buffer | undefined;
  #rest: Buffer | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("session", (ticket: Buffer) => {
      this.ticket = ticket;
    });
    socket.on("error", () => {});
  }

  /** Connects and completes the TLS 1.3 handshake. */
  static connect(options: FrameSocketOptions): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: options.host ?? "127.0.0.1",
        port: options.port,
        servername: "localhost",
        secureContext: contextFor(options.ca, options.cert, options.key),
        minVersion: "TLSv1.3",
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(options.session === undefined ? {} : { session: options.session }),
      });
      socket.setNoDelay(true);
      const client = new FrameSocket(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("handshake timeout"));
      }, options.timeoutMs ?? 30_000);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Whether the handshake resumed a session. */
  get resumed(): boolean {
    return this.socket.isSessionReused();
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Resolves with the next frame of `type` (other frames are still reported to `onFrame`). */
  next(type: number, timeoutMs = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const previous = this.onFrame;
      const timer = setTimeout(() => {
        this.onFrame = previous;
        reject(new Error(`no frame of type ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onFrame = (t, payload) => {
        if (t !== type) return previous(t, payload);
        clearTimeout(timer);
        this.onFrame = previous;
        resolve(Buffer.from(payload));
      };
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.#rest !== undefined) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = undefined;
    }
    let offset = 0;
    let frames = 0;
    while (buf.length - offset >= 5) {
      const len = buf.readUInt32BE(offset);
      if (buf.length - offset - 4 < len) break;
      this.onFrame(buf[offset + 4]!, buf.subarray(offset + 5, offset + 4 + len));
      offset += 4 + len;
      frames++;
    }
    if (offset < buf.length) this.#rest = Buffer.from(buf.subarray(offset));
    if (frames > 0) this.onChunk(frames);
  }
}
