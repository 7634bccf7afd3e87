/**
 * Device chaos: a real device process (generated SDK, FileIdempotencyStore) executes CoinCommands
 * delivered at least once by a cloud in this process, and is SIGKILLed at chosen moments — a command
 * claimed but not executed yet, mid-execution, right after its final ack, or at a random time — then
 * started again on the same journal. Each life gets its share of the orders, so every life has work
 * when it is killed. Executions are counted from a file the device appends to (outside its process).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REGISTER_TSX } from "../../../examples/demo/processes.js";
import { type CoinAck, CoinState, createPayboxServer } from "../../../examples/sdk/index.js";
import type { TestPki } from "../../helpers/pki.js";
import { scaled } from "../../helpers/time.js";

const DEVICE = fileURLToPath(new URL("../procs/device-chaos-device.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));

export interface DeviceChaosOptions {
  orders: number;
  kills: number;
  /** Bound of the device's record (small, so compaction and eviction run). Default 64. */
  maxEntries?: number;
  /** Up to how many ms each coin takes. Default 40. */
  coinMs?: number;
  /** Orders the cloud has in delivery at once (a box dispenses one after the other). Default 2. */
  window?: number;
}

export type KillMoment = "before execution" | "during execution" | "after the final ack" | "random";

export interface DeviceChaosReport {
  readonly orders: readonly string[];
  /** Final ack of each order at the cloud (undefined: lost). */
  readonly finals: ReadonlyMap<string, CoinAck>;
  /** Executions of each order, from the device's side-effect file. */
  readonly executions: ReadonlyMap<string, number>;
  readonly kills: readonly KillMoment[];
  readonly interruptedEvents: number;
  readonly journal: { readonly bytes: number; readonly records: number; readonly maxEntries: number };
  readonly durationMs: number;
}

/** A device process and the IPC events it sent. */
class DeviceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly #events: Array<{ event: string; data: unknown }> = [];
  readonly #waiters = new Set<() => void>();

  constructor(config: Record<string, unknown>) {
    this.child = spawn(process.execPath, ["--import", REGISTER_TSX, DEVICE, JSON.stringify(config)], {
      cwd: REPO,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: { event: string; data: unknown }) => {
      this.#events.push(message);
      for (const wake of [...this.#waiters]) wake();
    });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    void this.exited.then(() => {
      for (const wake of [...this.#waiters]) wake();
    });
  }

  count(event: string): number {
    return this.#events.filter((e) => e.event === event).length;
  }

  /** The next `event` after the first `skip` ones (past or future); rejects on exit or timeout. */
  next(event: string, timeoutMs: number, from = 0): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.exited.then(() => {
        exited = true;
      });
      const check = () => {
        const found = this.#events.filter((e) => e.event === event)[from];
        if (found !== undefined) {
          done();
          resolve(found.data);
        } else if (exited || this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`device exited before '${event}'`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`device: no '${event}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

const MOMENTS: readonly KillMoment[] = [
  "before execution",
  "during execution",
  "after the final ack",
  "random",
];

export async function runDeviceChaos(pki: TestPki, options: DeviceChaosOptions): Promise<DeviceChaosReport> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "paynet-device-chaos-"));
  const maxEntries = options.maxEntries ?? 64;
  const deviceId = "dev-CHAOS";
  const server = createPayboxServer(
    { port: 0, tls: { cert: pki.server.cert, key: pki.server.key }, readTimeoutMs: 0 },
    {
      LoginReq(login, ctx) {
        ctx.session.login(login.deviceId);
        return { code: 0 };
      },
    },
  );
  const { port } = await server.start();
  const config = {
    port,
    ca: pki.ca.cert,
    deviceId,
    journal: join(dir, "commands.journal"),
    executions: join(dir, "executions.log"),
    maxEntries,
    coinMs: options.coinMs ?? 40,
  };
  const orders = Array.from({ length: options.orders }, (_, i) => `CH-${String(i + 1).padStart(4, "0")}`);
  const finals = new Map<string, CoinAck>();
  const failures: string[] = [];
  const deliveries: Promise<void>[] = [];
  const gate = new Gate(options.window ?? 2);
  const deliver = (orderId: string, coins: number) =>
    (async () => {
      await gate.enter();
      try {
        // Ends on COIN_DONE or COIN_FAILED: the generated spec knows the final states.
        for await (const ack of server.deliverCoinCommand(
          deviceId,
          { orderId, coins },
          { deadlineMs: 600_000 },
        )) {
          if (ack.state === CoinState.COIN_DONE || ack.state === CoinState.COIN_FAILED)
            finals.set(orderId, ack);
        }
      } catch (error) {
        failures.push(`${orderId}: ${String(error)}`);
      } finally {
        gate.leave();
      }
    })();
  const kills: KillMoment[] = [];
  let interruptedEvents = 0;
  let released = 0;
  const lives = options.kills + 1;
  let device: DeviceProcess | undefined;
  try {
    for (let life = 0; life < lives; life++) {
      device = new DeviceProcess(config);
      await device.next("online", scaled(60_000));
      // This life's share of the orders (the last life gets the rest).
      const share = life === lives - 1 ? orders.length - released : Math.ceil(orders.length / lives);
      for (const orderId of orders.slice(released, released + share)) {
        deliveries.push(deliver(orderId, 1 + (released % 4)));
        released++;
      }
      if (life === lives - 1) break;
      const moment = MOMENTS[Math.floor(Math.random() * MOMENTS.length)]!;
      await killAt(device, moment);
      interruptedEvents += device.count("interrupted");
      kills.push(moment);
    }
    await Promise.race([
      Promise.all(deliveries),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("device chaos: orders did not settle")), scaled(300_000)),
      ),
    ]);
    interruptedEvents += device?.count("interrupted") ?? 0;
    device?.child.send({ cmd: "stop" });
    const stopped = (await device?.next("stopped", scaled(30_000))) as {
      journalBytes: number;
      journalRecords: number;
    };
    await device?.exited;
    if (failures.length > 0) throw new Error(`deliveries failed: ${failures.join("; ")}`);
    const executions = new Map<string, number>();
    for (const line of (await readFile(config.executions, "utf8").catch(() => "")).split("\n")) {
      const orderId = line.split(" ")[0];
      if (orderId) executions.set(orderId, (executions.get(orderId) ?? 0) + 1);
    }
    const bytes = (await stat(config.journal)).size;
    if (bytes !== stopped.journalBytes)
      throw new Error(`journal is ${bytes} bytes, the store said ${stopped.journalBytes}`);
    return {
      orders,
      finals,
      executions,
      kills,
      interruptedEvents,
      journal: { bytes, records: stopped.journalRecords, maxEntries },
      durationMs: Date.now() - started,
    };
  } finally {
    if (device !== undefined && device.child.exitCode === null && device.child.signalCode === null)
      await device.kill();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** At most `size` holders at once, served in arrival order. */
class Gate {
  readonly #queue: Array<() => void> = [];
  #free: number;

  constructor(size: number) {
    this.#free = size;
  }

  enter(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  leave(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

/** Kills the device at `moment` of the command it runs next (a timeout falls back to "now"). */
async function killAt(device: DeviceProcess, moment: KillMoment): Promise<void> {
  const wait = (event: string) => device.next(event, 10_000, device.count(event)).catch(() => undefined);
  switch (moment) {
    case "before execution":
      await wait("start");
      break;
    case "during execution":
      await wait("executed");
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      break;
    case "after the final ack":
      await wait("finishing");
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
      break;
    case "random":
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      break;
  }
  await device.kill();
}
