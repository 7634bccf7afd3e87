/**
 * paynetd's admin endpoint moves money: against a real paynetd and device, only a request with the
 * bearer token, a JSON body of sane size and range and no foreign Origin or Host starts a command;
 * every refusal is a typed JSON error with its 4xx status, and nothing reaches the device.
 */

import { stat, writeFile } from "node:fs/promises";
import { request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForAdmin } from "../../examples/demo/processes.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;
let device: ManagedProcess;
let token: string;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-ADMIN"] });
  server = await harness.paynetd(paynetdArgs({ certs, admin: true }));
  token = server.adminToken as string;
  device = harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn: "SN-ADMIN", coinMs: 10 }));
  await device.waitForLine(/online \(.*\) as dev-SN-ADMIN/, LINE_TIMEOUT_MS);
});

afterAll(() => harness.cleanup());

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: Record<string, unknown>;
}

/**
 * A request with exactly `headers` (node:http, which also lets a test send what a browser or a
 * rebinding page would: any Host, Origin, chunked bodies).
 */
function raw(
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
  body: string | readonly string[] = "",
): Promise<RawAnswer> {
  const url = new URL(server.adminUrl as string);
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: { host: url.host, ...headers } },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
          }),
        );
      },
    );
    // The server may answer (413) and close before the whole body went out.
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (!answered || (error.code !== "EPIPE" && error.code !== "ECONNRESET")) reject(error);
    });
    for (const part of typeof body === "string" ? [body] : body) request.write(part);
    request.end();
  });
}

const ORDER = JSON.stringify({ order_id: "ORD-EVIL", coins: 5 });
const json = { "content-type": "application/json" };
const bearer = () => ({ authorization: `Bearer ${token}` });
const coin = (headers: OutgoingHttpHeaders, body = ORDER) =>
  raw("POST", "/devices/dev-SN-ADMIN/coin", headers, body);

/** Nothing any refused request named reached paynetd's order desk or the device. */
function expectNothingStarted(orderId = "ORD-EVIL"): void {
  expect(server.process.find(new RegExp(`CoinCommand dev-SN-ADMIN order=${orderId}\\b`))).toBeUndefined();
  expect(device.find(new RegExp(`CoinCommand order=${orderId}\\b`))).toBeUndefined();
}

describe("the admin token", () => {
  it("is generated at first start into the certificates directory, mode 0600, and printed once", async () => {
    const file = join(certs, "admin.token");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(server.process.count(/admin token generated into /)).toBe(1);
    expect(
      server.process.find(/admin token generated into (\S+) \(mode 0600\): (\S+)$/)?.match.slice(1),
    ).toEqual([file, token]);
    // A second paynetd on the same directory uses the same token and prints nothing about it.
    const second = await harness.paynetd(paynetdArgs({ certs, admin: true }), "paynetd-second");
    expect(second.adminToken).toBe(token);
    expect(second.process.find(/admin token/)).toBeUndefined();
    await second.process.stop();
  });

  it("can be the operator's, from a file named in paynetd.yaml (admin.token_file); never printed", async () => {
    const dir = await harness.tempDir();
    const secret = "operator-chosen-admin-token-0123456789";
    await writeFile(join(dir, "admin-secret.txt"), `${secret}\n`, { mode: 0o600 });
    const config = join(dir, "paynetd.yaml");
    await writeFile(
      config,
      `server:\n  addr: 127.0.0.1:0\n  tls:\n    dir: ${certs}\nadmin:\n  addr: 127.0.0.1:0\n  token_file: admin-secret.txt\n`,
    );
    const own = harness.paynetdUnready(["--config", config], "paynetd-own-token");
    const adminUrl = await waitForAdmin(own, LINE_TIMEOUT_MS);
    const stats = (authorization: string) =>
      fetch(`${adminUrl}/stats`, { headers: { authorization } }).then((response) => response.status);
    expect(await stats(`Bearer ${secret}`)).toBe(200);
    // Not the token generated into the certificates directory: the file named in the config.
    expect(await stats(`Bearer ${token}`)).toBe(401);
    expect(own.find(/admin token/)).toBeUndefined();
    expect(own.lines.some((line) => line.includes(secret))).toBe(false);
    await own.stop();
  });

  it("is required: none or a wrong one is 401 UNAUTHORIZED and starts nothing", async () => {
    const none = await coin(json);
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({
      code: "UNAUTHORIZED",
      error: "missing Authorization: Bearer <admin token>",
    });
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer /);
    for (const authorization of [
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Basic ${token}`,
      token,
    ]) {
      const wrong = await coin({ ...json, authorization });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.json).toMatchObject({ code: "UNAUTHORIZED", error: "wrong admin token" });
    }
    expect((await raw("GET", "/stats", {})).status).toBe(401);
    expectNothingStarted();
  });
});

describe("requests a browser could be made to send", () => {
  it("refuses a cross-site text/plain POST (no preflight needed for it) with 403; nothing starts", async () => {
    // What a page on another site can make the operator's browser send, without the token.
    const crossSite = await coin({
      "content-type": "text/plain;charset=UTF-8",
      origin: "http://evil.example",
      "sec-fetch-site": "cross-site",
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json).toMatchObject({ code: "FOREIGN_ORIGIN" });
    // Even a request that somehow had the token is refused for its Origin.
    const withToken = await coin({ ...json, ...bearer(), origin: "http://evil.example" });
    expect(withToken.status).toBe(403);
    expect(withToken.json).toMatchObject({
      code: "FOREIGN_ORIGIN",
      error: "requests from origin http://evil.example are refused",
    });
    for (const origin of [
      "null",
      "https://127.0.0.1",
      `http://127.0.0.1:${Number(new URL(server.adminUrl as string).port) + 1}`,
    ]) {
      expect((await coin({ ...json, ...bearer(), origin })).status, origin).toBe(403);
    }
    // No CORS grant to a preflight either.
    const preflight = await raw("OPTIONS", "/devices/dev-SN-ADMIN/coin", {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    expectNothingStarted();
    await server.process.waitForLine(
      /WARN admin: POST refused: requests from origin http:\/\/evil.example/,
      LINE_TIMEOUT_MS,
    );
  });

  it("refuses a Host that is not this loopback endpoint (DNS rebinding) with 403", async () => {
    const rebound = await coin({
      ...json,
      ...bearer(),
      host: `evil.example:${new URL(server.adminUrl as string).port}`,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.json).toMatchObject({ code: "FOREIGN_HOST" });
    expectNothingStarted();
  });

  it("refuses any body that is not application/json with 415, token or not; nothing starts", async () => {
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const answer = await coin({ "content-type": type, ...bearer() });
      expect(answer.status, type).toBe(415);
      expect(answer.json).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    }
    expect((await coin(bearer())).status).toBe(415);
    expectNothingStarted();
  });
});

describe("the body", () => {
  it("is capped: 413 BODY_TOO_LARGE for a declared or a streamed body over 4 KiB", async () => {
    const big = JSON.stringify({ order_id: "ORD-EVIL", coins: 5, pad: "x".repeat(8 * 1024) });
    const declared = await coin({ ...json, ...bearer() }, big);
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ code: "BODY_TOO_LARGE" });
    const chunks = Array.from({ length: 16 }, () => " ".repeat(1024));
    const streamed = await raw("POST", "/devices/dev-SN-ADMIN/coin", { ...json, ...bearer() }, chunks);
    expect(streamed.status).toBe(413);
    expectNothingStarted();
  });

  it("has every field range-checked: 400 INVALID_FIELD naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ order_id: "ORD-EVIL", coins: 0 }, "coins"],
      [{ order_id: "ORD-EVIL", coins: 10_001 }, "coins"],
      [{ order_id: "ORD-EVIL", coins: 2 ** 32 }, "coins"],
      [{ order_id: "ORD-EVIL", coins: 1.5 }, "coins"],
      [{ order_id: "ORD-EVIL", coins: "5" }, "coins"],
      [{ order_id: "ORD-EVIL", coins: 5, timeout: 0 }, "timeout"],
      [{ order_id: "ORD-EVIL", coins: 5, timeout: 3_601 }, "timeout"],
      [{ order_id: "ORD-EVIL", coins: 5, timeout: 2 ** 32 }, "timeout"],
      [{ order_id: "", coins: 5 }, "order_id"],
      [{ order_id: "O".repeat(65), coins: 5 }, "order_id"],
      [{ order_id: "ORD EVIL", coins: 5 }, "order_id"],
      [{ order_id: "ORD-EVIL\n[paynetd] forged", coins: 5 }, "order_id"],
      [{ order_id: 7, coins: 5 }, "order_id"],
      [{ order_id: "ORD-EVIL", coin: 5 }, "coin"],
    ];
    for (const [order, field] of cases) {
      const answer = await coin({ ...json, ...bearer() }, JSON.stringify(order));
      expect(answer.status, JSON.stringify(order)).toBe(400);
      expect(answer.json).toMatchObject({ code: "INVALID_FIELD", field });
    }
    const protoKey = await coin(
      { ...json, ...bearer() },
      '{"order_id": "ORD-EVIL", "coins": 5, "__proto__": {}}',
    );
    expect(protoKey.json).toMatchObject({ code: "INVALID_FIELD", field: "__proto__" });
    for (const body of ["{not json", "[1]", '"ORD"', "null"]) {
      const answer = await coin({ ...json, ...bearer() }, body);
      expect(answer.status, body).toBe(400);
      expect(answer.json).toMatchObject({ code: "INVALID_JSON" });
    }
    expectNothingStarted();
  });
});

describe("a correct request", () => {
  it("is accepted and its command reaches the device", async () => {
    const accepted = await postJson(
      server,
      "/devices/dev-SN-ADMIN/coin",
      JSON.stringify({ order_id: "ORD-OK", coins: 2, timeout: 3_600 }),
    );
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({
      device_id: "dev-SN-ADMIN",
      order_id: "ORD-OK",
      coins: 2,
      state: "DONE",
    });
    await device.waitForLine(/<- CoinCommand order=ORD-OK coins=2 timeout=3600s/, LINE_TIMEOUT_MS);
    // Also from a page of this very endpoint (same origin), as a browser would mark it.
    const sameOrigin = await coin(
      { ...json, ...bearer(), origin: server.adminUrl as string, "sec-fetch-site": "same-origin" },
      JSON.stringify({ order_id: "ORD-OK-2", coins: 1 }),
    );
    expect(sameOrigin.status).toBe(200);
    const stats = await raw("GET", "/stats", bearer());
    expect(stats.json).toMatchObject({ devices: 1, orders: 2, unknown_order_acks: 0 });
    expect(device.count(/<- CoinCommand /)).toBe(2);
    expectNothingStarted();
  });

  it("answers typed errors for unknown paths, wrong methods and offline devices", async () => {
    expect((await raw("GET", "/nope", bearer())).json).toMatchObject({ code: "NOT_FOUND" });
    const get = await raw("GET", "/devices/dev-SN-ADMIN/coin", bearer());
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    const offline = await postJson(
      server,
      "/devices/dev-NOBODY/coin",
      JSON.stringify({ order_id: "X", coins: 1 }),
    );
    expect(offline).toMatchObject({ status: 404, json: { code: "DEVICE_NOT_ONLINE" } });
  });
});
