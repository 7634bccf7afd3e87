/**
 * Chaos run: a server process and a fleet process; at-least-once commands flow; the server process
 * is SIGKILLed mid-flow and restarted on the same port (same ticket keys); later every session is
 * dropped while commands are in flight. Reports recovery time, reconnect spread (after the kill and
 * after the drop) and, per order id,
 * whether it was acknowledged and how often the device executed it.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BenchProcess } from "../../../bench/lib/proc.js";
import type { TestPki } from "../../helpers/pki.js";

const SERVER = fileURLToPath(new URL("../procs/chaos-server.ts", import.meta.url));
const FLEET = fileURLToPath(new URL("../procs/chaos-fleet.ts", import.meta.url));

export interface ChaosOptions {
  devices: number;
  /** Commands per phase (before the kill, and after the restart). */
  commands: number;
  /** Up to how many milliseconds a device takes to run a command (between ACCEPTED and DONE). */
  commandDelayMs?: number;
}

export interface ChaosReport {
  devices: number;
  onlineBeforeKill: number;
  /** From the kill to the last device logged in again (restart time included). */
  allOnlineAfterKillMs: number;
  onlineAfterRestart: number;
  /** Connection attempts after the kill (those refused while the server restarted included). */
  reconnects: number;
  /** How the fleet's connection attempts after the kill were spread. */
  afterKill: ReconnectWave;
  /** The same after the restarted server dropped every session. */
  afterDrop: ReconnectWave;
  ackedBeforeKill: string[];
  ackedAfterRestart: string[];
  phase2Orders: string[];
  failedAfterRestart: Array<{ orderId: string; code: string }>;
  executions: Map<string, number>;
  allOnlineAfterDropMs: number;
  serverErrors: Record<string, number>;
}

/**
 * Shares (0..1) of the fleet whose connection attempts (refused ones included) fell in the densest
 * window, counted at the time each device's backoff timer was due.
 */
export interface ReconnectWave {
  /** Largest share within one 100 ms window. */
  peak100ms: number;
  /** Largest share within one second, divided by 10: the mean rate per 100 ms over that second. */
  per100msOverPeakSecond: number;
  /** Largest share within 100 ms counted at the attempt starts (this one fleet process's lag included). */
  peak100msStarted: number;
}

interface OnlineState {
  online: number;
  allOnlineMs: number;
  reconnects: number;
  peakReconnectsPer100ms: number;
  peakDueReconnectsPer100ms: number;
  peakDueReconnectsPer1s: number;
}

function wave(state: OnlineState, devices: number): ReconnectWave {
  return {
    peak100ms: state.peakDueReconnectsPer100ms / devices,
    per100msOverPeakSecond: state.peakDueReconnectsPer1s / 10 / devices,
    peak100msStarted: state.peakReconnectsPer100ms / devices,
  };
}

/** Collects `acked` / `failed` events of a server process. */
function collectAcks(
  server: BenchProcess,
  acked: string[],
  failed: Array<{ orderId: string; code: string }>,
): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const event = (await Promise.race([
        server.nextEvent("acked", 3_600_000).then((data) => ({ kind: "acked", data })),
        server.nextEvent("failed", 3_600_000).then((data) => ({ kind: "failed", data })),
      ]).catch(() => undefined)) as { kind: string; data: { orderId: string; code?: string } } | undefined;
      if (event === undefined) return;
      if (event.kind === "acked") acked.push(event.data.orderId);
      else failed.push({ orderId: event.data.orderId, code: event.data.code ?? "?" });
    }
  })();
  return () => {
    stopped = true;
  };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`chaos: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function orders(prefix: string, count: number, devices: number) {
  return Array.from({ length: count }, (_, i) => ({
    deviceId: `chaos-${i % devices}`,
    orderId: `${prefix}-${i}`,
    coins: 1 + (i % 5),
  }));
}

export async function runChaos(pki: TestPki, options: ChaosOptions): Promise<ChaosReport> {
  const serverConfig = {
    port: 0,
    ticketKeys: randomBytes(48).toString("hex"),
    cert: pki.server.cert,
    key: pki.server.key,
    readTimeoutMs: 30_000,
  };
  let server = await BenchProcess.start("chaos-server-A", SERVER, serverConfig);
  const port = server.ready.port as number;
  const fleet = await BenchProcess.start("chaos-fleet", FLEET, {
    port,
    ca: pki.ca.cert,
    n: options.devices,
    idPrefix: "chaos",
    heartbeatMs: 10_000,
    commandDelayMs: options.commandDelayMs ?? 500,
  });
  const ackedBeforeKill: string[] = [];
  const ackedAfterRestart: string[] = [];
  const failedBefore: Array<{ orderId: string; code: string }> = [];
  const failedAfterRestart: Array<{ orderId: string; code: string }> = [];
  try {
    await fleet.call("start");
    const initial = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 120_000 });
    if (initial.online < options.devices)
      throw new Error(`only ${initial.online}/${options.devices} devices came online`);

    // Phase 1: commands flow; kill the server process once half of them are acknowledged.
    const stopA = collectAcks(server, ackedBeforeKill, failedBefore);
    await server.call("deliver", { orders: orders("a", options.commands, options.devices) });
    await until(() => ackedBeforeKill.length >= options.commands / 2, 60_000, "half of phase 1 acknowledged");
    await fleet.call("mark");
    await server.kill();
    stopA();
    const acked1 = [...ackedBeforeKill];

    // Restart on the same port with the same ticket keys; measure the fleet's return.
    server = await BenchProcess.start("chaos-server-B", SERVER, { ...serverConfig, port });
    const back = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 180_000 });

    // Phase 2: commands flow again; every session is dropped while some are in flight.
    const phase2 = orders("b", options.commands, options.devices);
    const stopB = collectAcks(server, ackedAfterRestart, failedAfterRestart);
    await server.call("deliver", { orders: phase2 });
    await until(
      () => ackedAfterRestart.length >= options.commands / 3,
      60_000,
      "a third of phase 2 acknowledged",
    );
    await fleet.call("mark");
    await server.call("dropAll");
    const afterDrop = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 180_000 });
    await until(
      () => ackedAfterRestart.length + failedAfterRestart.length >= options.commands,
      180_000,
      "phase 2 settled",
    );
    stopB();
    const executions = new Map(await fleet.call<Array<[string, number]>>("executions"));
    const stats = await server.call<{ errors: Record<string, number> }>("stats");
    return {
      devices: options.devices,
      onlineBeforeKill: initial.online,
      allOnlineAfterKillMs: back.allOnlineMs,
      onlineAfterRestart: back.online,
      reconnects: back.reconnects,
      afterKill: wave(back, options.devices),
      afterDrop: wave(afterDrop, options.devices),
      ackedBeforeKill: acked1,
      ackedAfterRestart,
      phase2Orders: phase2.map((o) => o.orderId),
      failedAfterRestart,
      executions,
      allOnlineAfterDropMs: afterDrop.allOnlineMs,
      serverErrors: stats.errors,
    };
  } finally {
    await fleet.call("stopAll").catch(() => null);
    await Promise.all([fleet.stop(), server.stop()]);
  }
}
