/**
 * Resumption: a fleet of generated-SDK clients is online; the server drops every session and the
 * fleet reconnects — share of TLS handshakes that resumed, once plainly and once right after a
 * certificate hot reload. Then the cost of a full vs a resumed handshake (client latency and server
 * CPU per handshake).
 */
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { ratio } from "../lib/stats.js";
import type { BenchContext, ScenarioResult } from "./context.js";

interface Handshakes {
  full: number;
  resumed: number;
  failed: number;
}

interface OnlineState {
  online: number;
  onlineEvents: number;
  resumed: number;
  allOnlineMs: number;
}

interface HandshakeRun {
  p50Ms: number;
  meanMs: number;
  notResumed: number;
}

interface PhaseResult {
  serverFull: number;
  serverResumed: number;
  clientOnlineEvents: number;
  clientResumed: number;
  share: number;
  allOnlineMs: number;
}

export async function resumptionScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const n = Math.min(ctx.connections, ctx.quick ? 1_000 : 2_000);
  const server = await BenchProcess.start(
    "resume-server",
    "procs/server-paynet.ts",
    { pki: ctx.pki, sdkDir: ctx.sdkDir, ticketKeys: ctx.ticketKeys, readTimeoutMs: 70_000 },
    { nodeFlags: ctx.serverNodeFlags },
  );
  const fleet = await BenchProcess.start("resume-fleet", "procs/fleet-sdk.ts", {
    pki: ctx.pki,
    sdkDir: ctx.sdkDir,
    port: server.ready.port,
    n,
    idPrefix: "res",
    heartbeatMs: 30_000,
    reconnect: { initialDelayMs: 1_000, maxDelayMs: 8_000, jitter: 1 },
  });
  const hsClient = await BenchProcess.start("handshake-client", "procs/fleet-frames.ts", {
    pki: ctx.pki,
    idPrefix: "hs",
  });
  const rawServer = await BenchProcess.start("resume-raw", "procs/server-raw.ts", {
    pki: ctx.pki,
    ticketKeys: ctx.ticketKeys,
  });
  try {
    await fleet.call("mark");
    await fleet.call("start");
    const initial = await fleet.call<OnlineState>("waitOnline", { minEvents: n, timeoutMs: 120_000 });
    ctx.log(`  ${initial.online}/${n} online (first connect: ${initial.resumed} resumed)`);
    const phase = async (label: string, before: () => Promise<void>): Promise<PhaseResult> => {
      await before();
      const hs0 = await server.call<Handshakes>("handshakes");
      await fleet.call("mark");
      await server.call("dropAll");
      const state = await fleet.call<OnlineState>("waitOnline", { minEvents: n, timeoutMs: 120_000 });
      const hs1 = await server.call<Handshakes>("handshakes");
      const serverFull = hs1.full - hs0.full;
      const serverResumed = hs1.resumed - hs0.resumed;
      const result = {
        serverFull,
        serverResumed,
        clientOnlineEvents: state.onlineEvents,
        clientResumed: state.resumed,
        share: serverResumed / Math.max(1, serverFull + serverResumed),
        allOnlineMs: state.allOnlineMs,
      };
      ctx.log(
        `  ${label}: ${serverResumed} resumed / ${serverFull} full handshakes; all ${state.online} online after ${(state.allOnlineMs / 1000).toFixed(1)} s`,
      );
      return result;
    };
    const reconnect = await phase("reconnect", async () => {});
    const afterReload = await phase("after reloadTls", async () => {
      await server.call("reloadTls");
    });
    await fleet.call("stopAll");
    const count = ctx.quick ? 100 : 300;
    const measure = async (target: BenchProcess, resume: boolean) => {
      const cpu0 = await target.call<number>("cpu");
      const result = await hsClient.call<HandshakeRun>("handshakes", {
        port: target.ready.port,
        count,
        resume,
      });
      const cpu1 = await target.call<number>("cpu");
      return { ...result, serverCpuUsPerHandshake: (cpu1 - cpu0) / count };
    };
    const rawFull = await measure(rawServer, false);
    const rawResumed = await measure(rawServer, true);
    const full = await measure(server, false);
    const resumed = await measure(server, true);
    if (resumed.notResumed > 0)
      ctx.log(`  ${resumed.notResumed}/${count} handshakes offered a ticket did not resume`);
    const share = Math.min(reconnect.share, afterReload.share);
    const s = `resumption (${n} devices)`;
    return {
      rows: [
        targetRow(
          s,
          "resumed share on reconnect",
          `${(reconnect.share * 100).toFixed(2)}%`,
          `${reconnect.serverResumed}/${reconnect.serverResumed + reconnect.serverFull}`,
          reconnect.share,
          { min: 0.99 },
        ),
        targetRow(
          s,
          "resumed share right after reloadTls",
          `${(afterReload.share * 100).toFixed(2)}%`,
          `${afterReload.serverResumed}/${afterReload.serverResumed + afterReload.serverFull}`,
          afterReload.share,
          { min: 0.99 },
        ),
        infoRow(
          s,
          "fleet back online (s)",
          (reconnect.allOnlineMs / 1000).toFixed(1),
          `after reload ${(afterReload.allOnlineMs / 1000).toFixed(1)}`,
        ),
        infoRow(
          s,
          "handshake latency p50 (ms): resumed vs full",
          resumed.p50Ms.toFixed(2),
          `full ${full.p50Ms.toFixed(2)}`,
          ratio(resumed.p50Ms, full.p50Ms),
        ),
        infoRow(
          s,
          "server CPU per handshake (us): resumed vs full",
          resumed.serverCpuUsPerHandshake.toFixed(0),
          `full ${full.serverCpuUsPerHandshake.toFixed(0)}`,
          ratio(resumed.serverCpuUsPerHandshake, full.serverCpuUsPerHandshake),
        ),
        infoRow(
          s,
          "server CPU per full handshake (us) vs raw TLS",
          full.serverCpuUsPerHandshake.toFixed(0),
          `raw TLS ${rawFull.serverCpuUsPerHandshake.toFixed(0)}`,
          ratio(full.serverCpuUsPerHandshake, rawFull.serverCpuUsPerHandshake),
        ),
        infoRow(
          s,
          "server CPU per resumed handshake (us) vs raw TLS",
          resumed.serverCpuUsPerHandshake.toFixed(0),
          `raw TLS ${rawResumed.serverCpuUsPerHandshake.toFixed(0)}`,
          ratio(resumed.serverCpuUsPerHandshake, rawResumed.serverCpuUsPerHandshake),
        ),
      ],
      figures: {
        n,
        initial,
        reconnect,
        afterReload,
        handshakes: { count, full, resumed, rawFull, rawResumed },
      },
      summary: {
        resumed_share: share,
        resumed_share_after_reload: afterReload.share,
        resumed_handshake_cpu_vs_full: ratio(resumed.serverCpuUsPerHandshake, full.serverCpuUsPerHandshake),
      },
    };
  } finally {
    await Promise.all([fleet.stop(), hsClient.stop(), server.stop(), rawServer.stop()]);
  }
}
