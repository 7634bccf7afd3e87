/**
 * The slice of the generated Paybox SDK the benchmark uses. The SDK is generated at run time (into
 * bench/.sdk) and imported dynamically, so these declarations keep the benchmark type-checkable
 * without it; they mirror what `paynet-gen generate proto/paybox.proto` emits.
 */
import type { PaynetClient, PaynetServer, RequestSpec, ServerEvents, Session } from "@paynet/runtime";

interface ServerCtx {
  readonly session: Session;
}

export interface PayboxServerLike {
  readonly runtime: PaynetServer;
  deliverCoinCommand(
    deviceId: string,
    message: { orderId: string; coins: number },
    options?: { deadlineMs?: number },
  ): AsyncIterable<{ orderId: string; state: number }>;
  start(): Promise<{ host: string; port: number }>;
  stop(options?: { graceMs?: number }): Promise<void>;
  on<E extends keyof ServerEvents>(event: E, listener: (...args: ServerEvents[E]) => void): this;
}

export interface PayboxClientLike {
  readonly runtime: PaynetClient;
  readonly online: boolean;
  start(): void;
  stop(): Promise<void>;
}

export interface CodecLike<T> {
  encode(message: Partial<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** What `import(".../index.ts")` of the generated SDK gives. */
export interface PayboxSdk {
  createPayboxServer(
    options: Record<string, unknown>,
    handlers: {
      LoginReq?: (message: { deviceId: string }, ctx: ServerCtx) => { code: number } | undefined;
      Ping?: (message: { timestamp: bigint }) => { timestamp: bigint };
      QueryReq?: (message: { orderId: string }) => { orderId: string; state: number; progress: number };
    },
  ): PayboxServerLike;
  createPayboxClient(options: Record<string, unknown>, handlers?: Record<string, unknown>): PayboxClientLike;
  codecs: Record<string, CodecLike<Record<string, unknown>>>;
  /** The CoinCommand → CoinAck request spec (with its `isFinal`). */
  // biome-ignore lint/suspicious/noExplicitAny: a RequestSpec of generated message types
  CoinCommandRequest: RequestSpec<any, any> & { isFinal?: (reply: any) => boolean };
}
