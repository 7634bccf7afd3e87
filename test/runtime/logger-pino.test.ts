/**
 * The runtime logs in pino's argument order (fields, message) and binds per-session fields through
 * `child`: a real pino instance plugs in as is and every field arrives in its JSON lines.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { childLogger, type Logger } from "../../runtime/src/logger.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import { type LoginReq, LoginReqDef, LoginRspDef } from "../helpers/messages.js";
import { setUpServerTests, startTestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

/** A pino logger writing JSON lines into `lines`, synchronously. */
function pinoInto(lines: Array<Record<string, unknown>>): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: "debug" }, sink);
}

/** Resolves once `lines` holds a line matching `match` (checked as lines arrive). */
async function lineWith(
  lines: Array<Record<string, unknown>>,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  await expect.poll(() => lines.some(match)).toBe(true);
  return lines.find(match)!;
}

describe("logging through pino", () => {
  it("connection, online and offline lines carry the session's conn, peer and device id", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const registry = new Registry<ServerContext>().register(LoginReqDef, {
      reply: LoginRspDef,
      handler: (login: LoginReq, ctx) => {
        ctx.session.login(login.deviceId);
        return { code: 0 };
      },
    });
    const t = await startTestServer(pki, { registry, logger: pinoInto(lines) });
    const listening = await lineWith(lines, (l) => l.msg === "listening");
    expect(listening).toMatchObject({ host: "127.0.0.1", port: t.port, level: 30 });

    const device = await t.connect();
    const session = await t.nextSession();
    const peer = `127.0.0.1:${session.remotePort}`;
    const connection = await lineWith(lines, (l) => l.msg === "connection");
    expect(connection).toMatchObject({ conn: session.id, peer, resumed: false });

    device.send(LoginReqDef, { deviceId: "dev-7" });
    await device.next(LoginRspDef);
    const online = await lineWith(lines, (l) => l.msg === "online");
    expect(online).toMatchObject({ conn: session.id, peer, deviceId: "dev-7" });

    device.destroy();
    const offline = await lineWith(lines, (l) => l.msg === "offline");
    expect(offline).toMatchObject({ conn: session.id, peer, deviceId: "dev-7", level: 30 });
    expect(typeof offline.reason).toBe("string");
  });
});

describe("childLogger", () => {
  it("uses the logger's own child when it has one", () => {
    const lines: Array<Record<string, unknown>> = [];
    childLogger(pinoInto(lines), { conn: "c1" }).warn({ type: "0x42" }, "unknown message type");
    expect(lines).toEqual([
      expect.objectContaining({ conn: "c1", type: "0x42", msg: "unknown message type" }),
    ]);
  });

  it("merges the bindings into each line of a logger without child; the line's own fields win", () => {
    const seen: Array<[Record<string, unknown>, string]> = [];
    const plain: Logger = {
      debug: (fields, message) => seen.push([fields, message]),
      info: (fields, message) => seen.push([fields, message]),
      warn: (fields, message) => seen.push([fields, message]),
      error: (fields, message) => seen.push([fields, message]),
    };
    const child = childLogger(plain, { conn: "c2", peer: "a:1" });
    child.info({ peer: "b:2" }, "hello");
    child.child?.({ deviceId: "d" }).error({}, "bye");
    expect(seen).toEqual([
      [{ conn: "c2", peer: "b:2" }, "hello"],
      [{ conn: "c2", peer: "a:1", deviceId: "d" }, "bye"],
    ]);
  });
});
