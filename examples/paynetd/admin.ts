/**
 * The loopback HTTP admin endpoint. It moves money, so every request passes {@link AdminGuard}
 * (loopback Host, no foreign Origin, the bearer token) before anything else, and every error is a
 * JSON `{"code": "...", "error": "..."}` with a 4xx/5xx status.
 *
 * - `POST /devices/:id/coin` with `Content-Type: application/json` and `{"order_id": "...",
 *   "coins": 3, "timeout": 60}` pushes a coin command to an online device and answers with the
 *   order's final state. An order id is tied to its device and coins: re-using it for another device
 *   or other coins is refused with 409; the same order again is sent again (the device answers it
 *   from its record) and answered with its state.
 * - `GET /stats`: registered devices, known orders, ignored acks of unknown orders, state writes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PaynetError } from "@paynet/runtime";
import type { PayboxServer } from "../sdk/index.js";
import type { Address } from "../shared/address.js";
import { coinStateName } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";
import { type Log, wireText } from "../shared/log.js";
import { AdminGuard, type AdminRefusal, checkJsonContentType } from "./admin-guard.js";
import { parseOrder, readBody } from "./admin-order.js";
import type { OrderDesk } from "./orders.js";
import type { OrderRecord } from "./state.js";
import type { PaynetdStore } from "./store.js";

const COIN_PATH = /^\/devices\/([^/]+)\/coin$/;
/** Longest device id in a path: `dev-` and a 64-character serial, with room to spare. */
const MAX_DEVICE_ID_LENGTH = 128;

/** What the endpoint works with. */
export interface AdminDeps {
  readonly server: PayboxServer;
  readonly orders: OrderDesk;
  readonly state: PaynetdStore;
  readonly log: Log;
  /** The bearer token every request must carry. */
  readonly token: string;
  /** Whether a device is online anywhere (in a cluster, on any node); default: on this server. */
  readonly isOnline?: (deviceId: string) => Promise<boolean>;
}

/** An HTTP answer: status, JSON body, extra headers. */
interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Starts the admin endpoint on `address`; resolves with the server and its bound address. */
export async function startAdmin(
  address: Address,
  deps: AdminDeps,
): Promise<{ http: Server; address: Address }> {
  let guard: AdminGuard | undefined;
  const http = createServer((request, response) => {
    // No request is accepted before `listen` resolved, which sets the guard.
    void handle(request, guard as AdminGuard, deps).then(
      (answer) => send(response, answer),
      (error: unknown) => send(response, { status: 500, body: { code: "INTERNAL", error: String(error) } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(address.port, address.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  // A client gets this long to send a whole request (headers and a body of at most 4 KiB).
  http.requestTimeout = 10_000;
  const bound = http.address() as AddressInfo;
  guard = new AdminGuard(deps.token, bound.port);
  return { http, address: { host: address.host, port: bound.port } };
}

/** Closes the endpoint, ending idle keep-alive connections. */
export function stopAdmin(http: Server): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

async function handle(request: IncomingMessage, guard: AdminGuard, deps: AdminDeps): Promise<Answer> {
  const refused = guard.check(request);
  if (refused !== undefined) {
    if (refused.status === 403) deps.log.warn(`admin: ${request.method} refused: ${refused.message}`);
    return refusal(refused);
  }
  const path = (request.url ?? "").split("?")[0] as string;
  if (path === "/stats") {
    if (request.method !== "GET") return methodNotAllowed("GET");
    return { status: 200, body: await stats(deps) };
  }
  const match = COIN_PATH.exec(path);
  if (match === null) {
    return refusal({
      status: 404,
      code: "NOT_FOUND",
      message: "not found; use POST /devices/:id/coin or GET /stats",
    });
  }
  if (request.method !== "POST") return methodNotAllowed("POST");
  const deviceId = decodePathSegment(match[1] as string);
  if (deviceId === undefined || deviceId.length > MAX_DEVICE_ID_LENGTH) {
    return refusal({
      status: 400,
      code: "INVALID_FIELD",
      field: "device_id",
      message:
        deviceId === undefined
          ? "malformed %-escape in the device id"
          : `the device id is longer than ${MAX_DEVICE_ID_LENGTH} characters`,
    });
  }
  const wrongType = checkJsonContentType(request);
  if (wrongType !== undefined) return refusal(wrongType);
  const body = await readBody(request);
  if (typeof body !== "string") return refusal(body);
  const order = parseOrder(body);
  if ("status" in order) return refusal(order);
  deps.log.info(`admin: POST coin ${wireText(deviceId)} order=${order.orderId} coins=${order.coins}`);
  const online =
    deps.isOnline === undefined
      ? deps.server.runtime.session(deviceId)?.online === true
      : await deps.isOnline(deviceId);
  if (!online) {
    return refusal({ status: 404, code: "DEVICE_NOT_ONLINE", message: `device ${deviceId} is not online` });
  }
  try {
    const final = await deps.orders.push(deviceId, order);
    deps.log.info(`admin: order ${final.orderId} ended ${coinStateName(final.state)} ${final.progress}%`);
    return { status: 200, body: orderJson(final) };
  } catch (error) {
    const code = error instanceof PaynetError || error instanceof ExampleError ? error.code : "INTERNAL";
    const status = STATUS_OF_CODE[code] ?? 500;
    if (status === 409 || status === 507) {
      deps.log.warn(`admin: order ${order.orderId} refused: ${(error as Error).message}`);
    }
    return { status, body: { code, error: error instanceof Error ? error.message : String(error) } };
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

function refusal(refused: AdminRefusal): Answer {
  const headers: Record<string, string> = {};
  if (refused.status === 401) headers["www-authenticate"] = 'Bearer realm="paynetd admin"';
  // The rest of an oversized body is discarded as it arrives; the connection carries no other request.
  if (refused.status === 413) headers.connection = "close";
  return {
    status: refused.status,
    body: {
      code: refused.code,
      error: refused.message,
      ...(refused.field === undefined ? {} : { field: refused.field }),
    },
    headers,
  };
}

function methodNotAllowed(allowed: string): Answer {
  return {
    status: 405,
    body: { code: "METHOD_NOT_ALLOWED", error: `use ${allowed}` },
    headers: { allow: allowed },
  };
}

async function stats({ state, orders }: AdminDeps): Promise<Record<string, unknown>> {
  const size = await state.counts();
  return {
    devices: size.devices,
    orders: size.orders,
    unknown_order_acks: orders.unknownAcks,
    state_writes: state.writes,
  };
}

/** A `%`-decoded path segment, or `undefined` when its escapes are malformed (`%E0%A4%A`). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
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

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...answer.headers,
  });
  response.end(`${JSON.stringify(answer.body)}\n`);
}
