/**
 * Who may talk to the admin endpoint. Binding to loopback is not enough: any web page the operator
 * opens can make the browser POST to `http://127.0.0.1:PORT` (a "simple" `text/plain` request needs
 * no CORS preflight) or reach it through a DNS name rebound to 127.0.0.1. So every request must
 *
 * - name a loopback host (`Host`), which a rebound name is not;
 * - come from no foreign web origin (`Origin`, `Sec-Fetch-Site`): command-line clients send none;
 * - carry the bearer token (`Authorization: Bearer ...`), compared in constant time;
 *
 * and a request with a body must be `Content-Type: application/json`, which a browser cannot send
 * cross-site without a preflight this endpoint never grants (it sends no CORS headers at all).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** A refusal: HTTP status, stable code, message. */
export interface AdminRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** The request field at fault, for a 400. */
  readonly field?: string;
}

/** The checks for one endpoint: its token and the port it is bound to. */
export class AdminGuard {
  readonly #tokenDigest: Buffer;
  readonly #port: number;

  constructor(token: string, port: number) {
    this.#tokenDigest = digest(token);
    this.#port = port;
  }

  /** Why `request` is refused before its path is even looked at, or `undefined`. */
  check(request: IncomingMessage): AdminRefusal | undefined {
    const host = request.headers.host;
    if (host === undefined || !this.#isLoopbackAuthority(host)) {
      return {
        status: 403,
        code: "FOREIGN_HOST",
        message: `Host ${JSON.stringify(host ?? "")} is not this loopback endpoint`,
      };
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !this.#isOwnOrigin(origin)) {
      return { status: 403, code: "FOREIGN_ORIGIN", message: `requests from origin ${origin} are refused` };
    }
    const site = request.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      return { status: 403, code: "FOREIGN_ORIGIN", message: `${site} requests are refused` };
    }
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      return { status: 401, code: "UNAUTHORIZED", message: "missing Authorization: Bearer <admin token>" };
    }
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null || !timingSafeEqual(digest(match[1] as string), this.#tokenDigest)) {
      return { status: 401, code: "UNAUTHORIZED", message: "wrong admin token" };
    }
    return undefined;
  }

  /** `Host: 127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` of this endpoint. */
  #isLoopbackAuthority(authority: string): boolean {
    let url: URL;
    try {
      url = new URL(`http://${authority}`);
    } catch {
      return false;
    }
    return (
      isLoopbackHostname(url.hostname) && portOf(url) === this.#port && url.host === authority.toLowerCase()
    );
  }

  /** A page served by this endpoint itself (there is none, but a browser may still say so). */
  #isOwnOrigin(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // includes `null` (sandboxed frames, file:// pages)
    }
    return url.protocol === "http:" && isLoopbackHostname(url.hostname) && portOf(url) === this.#port;
  }
}

/** Why a request body's media type is refused, or `undefined` for JSON. */
export function checkJsonContentType(request: IncomingMessage): AdminRefusal | undefined {
  const type = request.headers["content-type"];
  const essence = type?.split(";")[0]?.trim().toLowerCase();
  if (essence === "application/json") return undefined;
  return {
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    message: `Content-Type must be application/json, got ${type === undefined ? "none" : JSON.stringify(type)}`,
  };
}

/** The port of an `http:` URL (the URL API leaves the default one empty). */
function portOf(url: URL): number {
  return url.port === "" ? 80 : Number(url.port);
}

function isLoopbackHostname(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
