/**
 * The benchmark's 64-byte payload: a `paybox.QueryReq` whose `order_id` has 62 characters
 * (tag 0x0A, length 62, 62 ASCII bytes = 64 bytes). Built by hand so the raw-TLS and gRPC
 * scenarios send exactly the bytes the paynet scenario sends.
 */

export const QUERY_REQ_TYPE = 0x05;
export const QUERY_RSP_TYPE = 0x85;
export const LOGIN_REQ_TYPE = 0x02;
export const LOGIN_RSP_TYPE = 0x82;
export const PING_TYPE = 0x03;
export const PONG_TYPE = 0x83;

/** A 62-character order id. */
export const ORDER_ID = `bench-order-${"0".repeat(50)}`;

/** The QueryReq payload: exactly 64 bytes. */
export function queryReqPayload(orderId = ORDER_ID): Buffer {
  const id = Buffer.from(orderId, "ascii");
  if (id.length !== 62) throw new Error("order id must have 62 ASCII characters");
  return Buffer.concat([Buffer.from([0x0a, 62]), id]);
}

/** A frame `Len | Type | payload` with Len counting Type + payload. */
export function frame(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

/** protobuf `string` field 1 (e.g. LoginReq.device_id). */
export function stringField1(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > 127) throw new Error("value too long for a one-byte length");
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/** A Ping payload: `timestamp` (uint64, field 1) and `uptime` (uint32, field 2). */
export function pingPayload(timestampMs: number, uptimeSec: number): Buffer {
  return Buffer.concat([Buffer.from([0x08]), varint(timestampMs), Buffer.from([0x10]), varint(uptimeSec)]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

export const COIN_COMMAND_TYPE = 0x04;
export const COIN_ACK_TYPE = 0x84;
/** `CoinState.COIN_DONE`: the final state of a `CoinAck`. */
const COIN_DONE = 2;

/**
 * The final `CoinAck` (order_id, state = COIN_DONE) answering a `CoinCommand` payload, whose first
 * field is its order_id (field 1, one-byte length: ids of at most 64 characters).
 */
export function coinAckDone(coinCommand: Uint8Array): Buffer | undefined {
  if (coinCommand[0] !== 0x0a) return undefined;
  const length = coinCommand[1]!;
  if (length > 127 || coinCommand.length < 2 + length) return undefined;
  const out = Buffer.allocUnsafe(5 + 2 + length + 2);
  out.writeUInt32BE(out.length - 4, 0);
  out[4] = COIN_ACK_TYPE;
  out.set(coinCommand.subarray(0, 2 + length), 5);
  out[5 + 2 + length] = 0x10;
  out[5 + 2 + length + 1] = COIN_DONE;
  return out;
}
