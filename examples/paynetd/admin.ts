/**
 * The loopback HTTP admin endpoint: `POST /devices/:id/coin {"order_id": "...", "coins": 3}` pushes
 * a coin command to an online device and answers with the order's final state. An order id is tied
 * to its device and coins: re-using it for another device or other coins is refused with 409; the
 * same order again is sent again (the device answers it from its record) and answered with its state.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PaynetError } from "@paynet/runtime";
import type { PayboxServer } from "../sdk/index.js";
import type { Address } from "../shared/address.js";
import { coinStateName } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";
import type { Log } from "../shared/log.js";
import { type CoinOrder, DEFAULT_COIN_TIMEOUT_S, type OrderDesk } from "./orders.js";
import type { OrderRecord } from "./state.js";

const MAX_BODY_BYTES = 16 * 1024;
const COIN_PATH = /^\/devices\/([^/]+)\/coin$/;

/** An HTTP answer: status and JSON body. */
interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** What the admin endpoint works with. */
export interface AdminDeps {
  readonly server: PayboxServer;
  readonly orders: OrderDesk;
  readonly log: Log;
  /** Whether a device is online anywhere (in a cluster, on any node); default: on this server. */
  readonly isOnline?: (deviceId: string) => Promise<boolean>;
}

/** Starts the admin endpoint on `address`; resolves with the server and its bound address. */
export async function startAdmin(
  address: Address,
  deps: AdminDeps,
): Promise<{ http: Server; address: Address }> {
  const http = createServer((request, response) => {
    void handle(request, deps).then(
      (answer) => send(response, answer),
      (error: unknown) => send(response, { status: 500, body: { error: String(error) } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(address.port, address.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const bound = http.address() as AddressInfo;
  return { http, address: { host: address.host, port: bound.port } };
}

/** Closes the endpoint, ending idle keep-alive connections. */
export function stopAdmin(http: Server): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

async function handle(request: IncomingMessage, deps: AdminDeps): Promise<Answer> {
  const match = COIN_PATH.exec(request.url ?? "");
  if (match === null) return { status: 404, body: { error: "not found; use POST /devices/:id/coin" } };
  if (request.method !== "POST") return { status: 405, body: { error: "use POST" } };
  const deviceId = decodePathSegment(match[1] as string);
  if (deviceId === undefined) return { status: 400, body: { error: "malformed %-escape in the device id" } };
  const parsed = parseOrder(await readBody(request));
  if (typeof parsed === "string") return { status: 400, body: { error: parsed } };
  deps.log.info(`admin: POST coin ${deviceId} order=${parsed.orderId} coins=${parsed.coins}`);
  const online =
    deps.isOnline === undefined
      ? deps.server.runtime.session(deviceId)?.online === true
      : await deps.isOnline(deviceId);
  if (!online) {
    return { status: 404, body: { error: `device ${deviceId} is not online` } };
  }
  try {
    const order = await deps.orders.push(deviceId, parsed);
    deps.log.info(`admin: order ${order.orderId} ended ${coinStateName(order.state)} ${order.progress}%`);
    return { status: 200, body: orderJson(order) };
  } catch (error) {
    const code = error instanceof PaynetError || error instanceof ExampleError ? error.code : "INTERNAL";
    const status = STATUS_OF_CODE[code] ?? 500;
    if (status === 409) deps.log.warn(`admin: order ${parsed.orderId} refused: ${(error as Error).message}`);
    return { status, body: { error: error instanceof Error ? error.message : String(error), code } };
  }
}

/** HTTP statuses of the error codes a push can end with; others are 500. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  ORDER_CONFLICT: 409,
  ORDERS_FULL: 507,
  REQUEST_TIMEOUT: 504,
  SERVER_STOPPED: 503,
  NOT_CONNECTED: 404,
};

/** A `%`-decoded path segment, or `undefined` when its escapes are malformed (`%E0%A4%A`). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The order in a request body, or what is wrong with it. */
function parseOrder(body: string | undefined): CoinOrder | string {
  if (body === undefined) return `body larger than ${MAX_BODY_BYTES} bytes`;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return "body is not valid JSON";
  }
  if (typeof json !== "object" || json === null)
    return 'expected a JSON object {"order_id": "...", "coins": N}';
  const { order_id: orderId, coins, timeout } = json as Record<string, unknown>;
  if (typeof orderId !== "string" || orderId === "") return "order_id must be a non-empty string";
  if (typeof coins !== "number" || !Number.isInteger(coins) || coins < 1 || coins > 10_000) {
    return "coins must be an integer from 1 to 10000";
  }
  if (timeout !== undefined && (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1)) {
    return "timeout, when given, must be a positive integer (seconds)";
  }
  return { orderId, coins, timeout: (timeout as number | undefined) ?? DEFAULT_COIN_TIMEOUT_S };
}

function orderJson(order: OrderRecord): Record<string, unknown> {
  return {
    device_id: order.deviceId,
    order_id: order.orderId,
    coins: order.coins,
    state: coinStateName(order.state),
    progress: order.progress,
    error: order.error,
    acks: order.acks,
  };
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on("end", () =>
      resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8")),
    );
    request.on("error", reject);
  });
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, { "content-type": "application/json" });
  response.end(`${JSON.stringify(answer.body)}\n`);
}
