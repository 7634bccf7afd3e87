/**
 * Child side of the benchmark processes: answers the driver's RPC calls over the IPC channel and
 * exits by itself when the driver goes away (a benchmark must never leave processes behind).
 */

/** One RPC handler: receives the call's argument, returns a JSON-serialisable result. */
export type RpcHandler = (arg: never) => unknown;

interface RpcCall {
  readonly rpcId: number;
  readonly cmd: string;
  readonly arg: unknown;
}

/** The config the driver passed as the first argument (JSON). */
export function childConfig<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("benchmark child: missing JSON config argument");
  return JSON.parse(raw) as T;
}

/** Serves `handlers` to the driver and announces readiness with `ready` (e.g. the bound port). */
export function serveRpc(handlers: Record<string, RpcHandler>, ready: Record<string, unknown> = {}): void {
  if (process.send === undefined) throw new Error("benchmark child: started without an IPC channel");
  process.on("message", (message: RpcCall) => {
    if (typeof message !== "object" || message === null || typeof message.rpcId !== "number") return;
    void answer(handlers, message);
  });
  // The driver died or disconnected: nobody will ever stop us, so stop now.
  process.on("disconnect", () => process.exit(0));
  process.send({ event: "ready", data: ready });
}

async function answer(handlers: Record<string, RpcHandler>, call: RpcCall): Promise<void> {
  const handler = handlers[call.cmd];
  try {
    if (handler === undefined) throw new Error(`unknown command ${call.cmd}`);
    const result = await (handler as (arg: unknown) => unknown)(call.arg);
    process.send?.({ rpcId: call.rpcId, result: result ?? null });
  } catch (error) {
    process.send?.({
      rpcId: call.rpcId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

/** Sends an event (not an RPC answer) to the driver. */
export function emitToDriver(event: string, data: unknown): void {
  process.send?.({ event, data });
}

/** Server-side memory after a full GC (requires `--expose-gc`). */
export function memoryAfterGc(): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** CPU time used by this process so far, in microseconds (user + system). */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
