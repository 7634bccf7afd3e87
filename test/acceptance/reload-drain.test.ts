/**
 * paynetd under an operator's signals, against a real process: SIGHUP with a broken config file
 * keeps serving with the running settings, a fixed one applies what can change live and names what
 * needs a restart; SIGTERM drains a fleet of 200 devices (readiness 503, listener closed after the
 * grace period, sessions evicted at the configured rate, each told SERVER_DRAINING).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PaynetError } from "@paynet/runtime";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPayboxClient, type PayboxClient } from "../../examples/sdk/index.js";
import { Harness, LINE_TIMEOUT_MS } from "./support/harness.js";

const harness = new Harness();
let certs: string;
let ca: string;
const clients: PayboxClient[] = [];

beforeAll(async () => {
  certs = await harness.certs();
  ca = await readFile(join(certs, "ca.crt"), "utf8");
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.stop()));
});

afterAll(() => harness.cleanup());

/** A device on the generated SDK (no client certificate) that registers `sn` and logs in with `token`. */
function device(port: number, sn: string, token: string): { client: PayboxClient; online: Promise<void> } {
  let deviceId = "";
  const client = createPayboxClient({
    host: "127.0.0.1",
    port,
    tls: { ca, servername: "localhost" },
    heartbeat: false,
    // Drained devices would reconnect to a node behind a load balancer; here there is none: wait long.
    reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, spreadMs: 60_000 },
    register: () => ({ deviceSn: sn }),
    onRegisterReply: (reply) => {
      deviceId = reply.deviceId;
    },
    login: () => ({ deviceId, token }),
    onLoginRefused: () => "stop",
  });
  clients.push(client);
  const online = new Promise<void>((resolve, reject) => {
    client.on("online", () => resolve());
    client.on("loginRefused", reject);
  });
  online.catch(() => {});
  client.start();
  return { client, online };
}

describe("SIGHUP", () => {
  it("keeps serving with the running settings when the file is broken, applies a fixed one", async () => {
    const dir = await harness.tempDir();
    const tokenFile = join(dir, "token.txt");
    await writeFile(tokenFile, "first-token\n");
    const configPath = join(dir, "paynetd.yaml");
    const config = (extra: string) =>
      `server:\n  addr: 127.0.0.1:0\n  command_coins: 0\n  login_token_file: token.txt\n  tls:\n    dir: ${certs}\n${extra}`;
    await writeFile(configPath, config(""));
    const server = await harness.paynetd(["--config", configPath], "paynetd-reload");
    const first = device(server.port, "SN-HUP-1", "first-token");
    await first.online;

    // A typo on line 7: the reload is refused, naming where; nothing changes.
    await writeFile(configPath, config("  drian: 1\n"));
    let from = server.process.lines.length;
    process.kill(server.process.pid!, "SIGHUP");
    const refused = await server.process.waitForLine(/reload refused/, LINE_TIMEOUT_MS, from);
    expect(refused.line).toContain(`${configPath}:7:3: unknown key "server.drian" in server`);
    expect(server.process.find(/offline dev-SN-HUP-1/)).toBeUndefined();
    // Still serving, with the old token.
    await device(server.port, "SN-HUP-2", "first-token").online;

    // Fixed, with a new token in the secret file and a new listen address (restart only).
    await writeFile(tokenFile, "second-token\n");
    await writeFile(configPath, config("").replace("addr: 127.0.0.1:0", "addr: 127.0.0.1:1"));
    from = server.process.lines.length;
    process.kill(server.process.pid!, "SIGHUP");
    const restart = await server.process.waitForLine(/server\.addr changed/, LINE_TIMEOUT_MS, from);
    expect(restart.line).toContain(
      `server.addr changed (${configPath}:2:9) but takes effect only after a restart; still 127.0.0.1:0`,
    );
    await server.process.waitForLine(
      /reloaded TLS material \(.*\); settings changed: login token/,
      LINE_TIMEOUT_MS,
      from,
    );
    await device(server.port, "SN-HUP-3", "second-token").online;
    await expect(device(server.port, "SN-HUP-4", "first-token").online).rejects.toMatchObject({
      code: "LOGIN_REFUSED",
    });
    // The first device was never disturbed.
    expect(server.process.find(/offline dev-SN-HUP-1/)).toBeUndefined();
    expect(first.client.online).toBe(true);
  });
});

describe("SIGTERM drain", () => {
  it("drains 200 devices: /readyz 503, listener closed after the grace period, evictions at the rate", async () => {
    const devices = 200;
    const rate = 100;
    const server = await harness.paynetd(
      [
        "--listen",
        "127.0.0.1:0",
        "--certs",
        certs,
        "--command-coins",
        "0",
        "--log-level",
        "info",
        "--metrics",
        "127.0.0.1:0",
        "--drain-grace",
        "1s",
        "--drain-rate",
        String(rate),
      ],
      "paynetd-drain",
    );
    const fleet = Array.from({ length: devices }, (_, i) =>
      device(server.port, `SN-DRAIN-${i}`, "demo-token"),
    );
    await Promise.all(fleet.map((d) => d.online));
    const endings: Array<{ at: number; reason: PaynetError }> = [];
    const allOffline = Promise.all(
      fleet.map(
        ({ client }) =>
          new Promise<void>((resolve) =>
            client.runtime.once("offline", (reason) => {
              endings.push({ at: Date.now(), reason });
              resolve();
            }),
          ),
      ),
    );
    const opsUrl = server.opsUrl!;
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);

    const from = server.process.lines.length;
    const exited = server.process.stop("SIGTERM", 60_000);
    await server.process.waitForLine(/draining: \/readyz answers 503/, LINE_TIMEOUT_MS, from);
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${opsUrl}/livez`)).status).toBe(200);
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^paynet_draining 1$/m);
    await server.process.waitForLine(
      new RegExp(`draining: listener closed, evicting ${devices} session\\(s\\) at ${rate}/s`),
      LINE_TIMEOUT_MS,
      from,
    );
    await allOffline;
    const drained = await server.process.waitForLine(
      new RegExp(`drained: ${devices} of ${devices} session\\(s\\) evicted in ([\\d.]+)s`),
      LINE_TIMEOUT_MS,
      from,
    );
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(server.process.find(/^\[paynetd\] stopped$/, from)).toBeDefined();

    // Every device was told why: the typed reason of the generated client.
    expect(new Set(endings.map((ending) => ending.reason.code))).toEqual(new Set(["SERVER_DRAINING"]));
    expect(endings).toHaveLength(devices);
    // The server spaced the evictions: 200 at 100/s take at least 199/100 s.
    expect(Number(drained.match[1])).toBeGreaterThanOrEqual(((devices - 1) / rate) * 0.95);
    // Seen from the devices (delivery delays can only bunch them up): at most twice the rate per second.
    const times = endings.map((ending) => ending.at).sort((a, b) => a - b);
    for (const start of times) {
      expect(times.filter((at) => at >= start && at < start + 1_000).length).toBeLessThanOrEqual(2 * rate);
    }
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((devices - 1) / rate) * 1_000 * 0.8);
    expect(server.process.count(/offline dev-SN-DRAIN-\d+: SERVER_DRAINING/)).toBe(devices);
  }, 120_000);
});
