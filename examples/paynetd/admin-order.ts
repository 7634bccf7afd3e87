/**
 * The admin endpoint's request body: read up to a small cap, then checked field by field. Every value
 * must fit the proto (`coins` and `timeout` are uint32) and a sane range, `order_id` is short and
 * of a plain charset (it reaches logs, the state file and the device), and unknown fields are
 * refused, so a typo such as `coin` is an error rather than an order with default values.
 */
import type { IncomingMessage } from "node:http";
import type { AdminRefusal } from "./admin-guard.js";
import { type CoinOrder, DEFAULT_COIN_TIMEOUT_S } from "./orders.js";

/** Largest request body read; a coin order is well under 200 bytes. */
export const MAX_ADMIN_BODY_BYTES = 4 * 1024;
export const MAX_COINS = 10_000;
/** Longest timeout accepted: one hour of dispensing. */
export const MAX_COIN_TIMEOUT_S = 3_600;
export const MAX_ORDER_ID_LENGTH = 64;
const ORDER_ID = /^[A-Za-z0-9._:-]+$/;
const FIELDS = new Set(["order_id", "coins", "timeout"]);

/** The body as text, or the 413 refusal when it is larger than {@link MAX_ADMIN_BODY_BYTES}. */
export function readBody(request: IncomingMessage): Promise<string | AdminRefusal> {
  const tooLarge: AdminRefusal = {
    status: 413,
    code: "BODY_TOO_LARGE",
    message: `the request body is larger than ${MAX_ADMIN_BODY_BYTES} bytes`,
  };
  // An oversized body is answered at once and the rest of it discarded as it arrives: closing with
  // unread bytes would reset the connection and could lose the answer. The server's request
  // timeout bounds how long a client may keep sending.
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > MAX_ADMIN_BODY_BYTES) {
    request.resume();
    return Promise.resolve(tooLarge);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_ADMIN_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      request.off("data", onData);
      chunks.length = 0;
      resolve(tooLarge);
    };
    request.on("data", onData);
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** The order in a request body, or the 400 refusal naming the faulty field. */
export function parseOrder(body: string): CoinOrder | AdminRefusal {
  const invalid = (message: string, field?: string): AdminRefusal => ({
    status: 400,
    code: field === undefined ? "INVALID_JSON" : "INVALID_FIELD",
    message,
    ...(field === undefined ? {} : { field }),
  });
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return invalid("the body is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return invalid('expected a JSON object {"order_id": "...", "coins": N}');
  }
  const fields = json as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.has(key))
      return invalid(`unknown field ${JSON.stringify(key)} (order_id, coins, timeout)`, key);
  }
  const { order_id: orderId, coins, timeout } = fields;
  if (typeof orderId !== "string" || orderId.length > MAX_ORDER_ID_LENGTH || !ORDER_ID.test(orderId)) {
    return invalid(
      `order_id must be 1 to ${MAX_ORDER_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`,
      "order_id",
    );
  }
  if (!isIntegerIn(coins, 1, MAX_COINS)) {
    return invalid(`coins must be an integer from 1 to ${MAX_COINS}`, "coins");
  }
  if (timeout !== undefined && !isIntegerIn(timeout, 1, MAX_COIN_TIMEOUT_S)) {
    return invalid(
      `timeout, when given, must be an integer from 1 to ${MAX_COIN_TIMEOUT_S} (seconds)`,
      "timeout",
    );
  }
  return { orderId, coins, timeout: timeout ?? DEFAULT_COIN_TIMEOUT_S };
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
