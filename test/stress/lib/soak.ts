/**
 * Soak: a server process and a fleet process under mixed traffic for a while — heartbeats, ping
 * requests, at-least-once commands, and a share of sessions dropped every few seconds (reconnects
 * with resumption) — then the server's heap and RSS after GC are compared with their values at the
 * start of the run.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BenchProcess } from "../../../bench/lib/proc.js";
import type { TestPki } from "../../helpers/pki.js";

const SERVER = fileURLToPath(new URL("../procs/chaos-server.ts", import.meta.url));
const FLEET = fileURLToPath(new URL("../procs/chaos-fleet.ts", import.meta.url));

export interface SoakOptions {
  devices: number;
  durationMs: number;
  /** Commands delivered per second. */
  commandsPerSec?: number;
  /** Share of sessions dropped every 3 s. */
  dropShare?: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
}

export interface SoakReport {
  devices: number;
  durationMs: number;
  commands: number;
  acked: number;
  failed: Array<{ orderId: string; code: string }>;
  executedTwice: string[];
  notExecuted: number;
  pings: { ok: number; failed: number };
  dropped: number;
  start: Memory;
  end: Memory;
  onlineAtEnd: number;
  serverErrors: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(pki: TestPki, options: SoakOptions): Promise<SoakReport> {
  const server = await BenchProcess.start("soak-server", SERVER, {
    port: 0,
    ticketKeys: randomBytes(48).toString("hex"),
    cert: pki.server.cert,
    key: pki.server.key,
    readTimeoutMs: 10_000,
  });
  const fleet = await BenchProcess.start("soak-fleet", FLEET, {
    port: server.ready.port,
    ca: pki.ca.cert,
    n: options.devices,
    idPrefix: "chaos",
    heartbeatMs: 2_000,
    commandDelayMs: 200,
    // Fast reconnects keep the whole fleet busy within a short soak.
    reconnect: { initialDelayMs: 200, maxDelayMs: 2_000, jitter: 1 },
  });
  const acked = new Set<string>();
  const failed: Array<{ orderId: string; code: string }> = [];
  let listening = true;
  const listen = async (event: "acked" | "failed") => {
    while (listening) {
      const data = (await server.nextEvent(event, 3_600_000).catch(() => undefined)) as
        | { orderId: string; code?: string }
        | undefined;
      if (data === undefined) return;
      if (event === "acked") acked.add(data.orderId);
      else failed.push({ orderId: data.orderId, code: data.code ?? "?" });
    }
  };
  void listen("acked");
  void listen("failed");
  try {
    await fleet.call("start");
    const initial = await fleet.call<{ online: number }>("waitOnline", { timeoutMs: 120_000 });
    if (initial.online < options.devices) throw new Error(`only ${initial.online}/${options.devices} online`);
    const rate = options.commandsPerSec ?? Math.max(10, Math.floor(options.devices / 10));
    let commands = 0;
    let dropped = 0;
    const pings = { ok: 0, failed: 0 };
    const deliverBatch = async () => {
      const orders = Array.from({ length: rate }, () => {
        const i = commands++;
        return {
          deviceId: `chaos-${Math.floor(Math.random() * options.devices)}`,
          orderId: `soak-${i}`,
          coins: 1,
        };
      });
      await server.call("deliver", { orders });
    };
    // One warm-up second of traffic before the baseline, so lazy allocations are in it.
    await deliverBatch();
    await sleep(1_000);
    const start = await server.call<Memory>("mem");
    const began = Date.now();
    for (let tick = 1; Date.now() - began < options.durationMs; tick++) {
      await deliverBatch();
      if (tick % 2 === 0) {
        const result = await fleet.call<{ ok: number; failed: number }>("pingAll");
        pings.ok += result.ok;
        pings.failed += result.failed;
      }
      if (tick % 3 === 0)
        dropped += await server.call<number>("dropSome", { share: options.dropShare ?? 0.05 });
      await sleep(1_000);
    }
    // Let everything settle: all devices back, every command answered.
    const settleDeadline = Date.now() + 120_000;
    while (acked.size + failed.length < commands && Date.now() < settleDeadline) await sleep(50);
    const final = await fleet.call<{ online: number }>("waitOnline", { timeoutMs: 60_000 });
    await sleep(500);
    const end = await server.call<Memory>("mem");
    const executions = new Map(await fleet.call<Array<[string, number]>>("executions"));
    const stats = await server.call<{ errors: Record<string, number> }>("stats");
    return {
      devices: options.devices,
      durationMs: options.durationMs,
      commands,
      acked: acked.size,
      failed,
      executedTwice: [...executions].filter(([, n]) => n > 1).map(([id]) => id),
      notExecuted: [...acked].filter((id) => executions.get(id) !== 1).length,
      pings,
      dropped,
      start,
      end,
      onlineAtEnd: final.online,
      serverErrors: stats.errors,
    };
  } finally {
    listening = false;
    await fleet.call("stopAll").catch(() => null);
    await Promise.all([fleet.stop(), server.stop()]);
  }
}
