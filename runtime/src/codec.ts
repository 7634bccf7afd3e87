/**
 * What the runtime knows about a message: its wire Type, its name and how to (de)serialise it.
 * Generated SDKs provide these; the runtime never looks inside a message except through the
 * functions handed to it (codec, correlation key).
 */
import type { Reader } from "protobufjs/minimal.js";
import type { Writer } from "./protobuf/writer.js";

/** Serialises one protobuf message type. Generated code implements this with static codecs. */
export interface MessageCodec<T> {
  encode(message: T): Uint8Array;
  /**
   * Optional: writes the message's bytes into `writer` and returns. When present, the runtime
   * encodes outbound messages straight into the connection's outbound buffer with it (no buffer per
   * message); `encode` must produce the same bytes. Generated codecs have it.
   */
  write?(message: T, writer: Writer): unknown;
  /**
   * Optional: reads a message of `length` bytes at `reader.pos`. When present, the runtime decodes
   * inbound frames with it straight from the socket's chunk (no view, no reader per frame); `decode`
   * must give the same result. Generated codecs have it.
   */
  read?(reader: Reader, length: number): T;
  /** Throws on malformed input; the runtime wraps the throw into a `DecodeError`. */
  decode(bytes: Uint8Array): T;
}

/** A message bound to its wire Type byte. */
export interface MessageDef<T> {
  /** Wire Type byte, 1..255. */
  readonly type: number;
  /** Fully-qualified protobuf name, e.g. `paybox.CoinCommand`. */
  readonly name: string;
  readonly codec: MessageCodec<T>;
}

/**
 * A request message and the message that answers it. With correlation keys, replies are matched to
 * their request by key (several requests may be in flight, and a request may get several replies);
 * without, replies of the reply Type are matched to requests in send order.
 */
export interface RequestSpec<Req, Rep> {
  readonly request: MessageDef<Req>;
  readonly reply: MessageDef<Rep>;
  /** Correlation key of a request (e.g. `cmd => cmd.orderId`). */
  readonly requestKey?: (message: Req) => string;
  /** Correlation key of a reply; must give the same value as `requestKey` for the matching request. */
  readonly replyKey?: (message: Rep) => string;
  /**
   * Which replies are final (generated from `(paynet.final)` enum values): the default of
   * `isFinal` for `request()`, `stream()` and `deliver()` with this spec. Without it (and without
   * the option), every reply is final.
   */
  readonly isFinal?: (reply: Rep) => boolean;
}

/** Options of a single request. */
export interface RequestOptions<Rep> {
  /** Give up (reject / end the stream with `RequestTimeoutError`) after this long. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Whether a reply is the final one. `request()` resolves with the first final reply;
   * `stream()` yields every reply and ends after a final one. Default: the spec's `isFinal`, else
   * every reply is final.
   */
  isFinal?: (reply: Rep) => boolean;
}

/** Options of an at-least-once delivery (cloud → device, surviving reconnects). */
export interface DeliveryOptions<Rep> {
  /** Stop redelivering and fail with `RequestTimeoutError` after this long. Default 5 min. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /**
   * Whether a reply is the final one; until it arrives the request is redelivered after each
   * re-login. Default: the spec's `isFinal` (generated from `(paynet.final)`), else every reply.
   */
  isFinal?: (reply: Rep) => boolean;
  /**
   * Called with each reply the moment it arrives, before the next frame of the device is handled
   * (the iteration sees it a microtask later). Record state here when a message that follows the
   * reply on the wire must see it, e.g. a query sent right behind the final ack.
   */
  onReply?: (reply: Rep) => void;
}
