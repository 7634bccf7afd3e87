/**
 * `npm run paynetd` as the docs show it: `--help` works through npm, and stopping npm (SIGTERM,
 * as a process manager or `kill` does) stops paynetd too instead of leaving it running alone.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleEnv, ManagedProcess } from "../../examples/demo/processes.js";
import { scaled } from "../helpers/time.js";
import { Harness, LINE_TIMEOUT_MS } from "./support/harness.js";

const harness = new Harness();
const started: ManagedProcess[] = [];
let certs: string;

beforeAll(async () => {
  certs = await harness.certs();
});

afterAll(async () => {
  await Promise.all(started.map((child) => child.stop("SIGKILL", 1_000)));
  await harness.cleanup();
});

function npmRun(script: string, args: readonly string[]): ManagedProcess {
  const npm = new ManagedProcess({
    name: `npm run ${script}`,
    command: process.platform === "win32" ? "npm.cmd" : "npm",
    args: ["run", "--silent", script, "--", ...args],
    env: exampleEnv(),
  });
  started.push(npm);
  return npm;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("npm run paynetd", () => {
  it("prints its usage with -- --help", async () => {
    const help = npmRun("paynetd", ["--help"]);
    expect(await help.exited).toEqual({ code: 0, signal: null });
    expect(help.find(/^usage: paynetd --listen HOST:PORT --certs DIR/)).toBeDefined();
  });

  it(
    "stops paynetd when npm gets SIGTERM",
    async () => {
      const npm = npmRun("paynetd", ["--listen", "127.0.0.1:0", "--certs", certs]);
      const { match } = await npm.waitForLine(/^\[paynetd\] listening 127\.0\.0\.1:(\d+)/, LINE_TIMEOUT_MS);
      const port = Number(match[1]);
      await npm.stop("SIGTERM");
      // paynetd keeps writing to the pipe npm handed it: its last words arrive after npm is gone.
      await npm.waitForLine(/^\[paynetd\] stopping \(/, LINE_TIMEOUT_MS);
      await npm.waitForLine(/^\[paynetd\] stopped$/, LINE_TIMEOUT_MS);
      expect(await listening(port)).toBe(false);
    },
    scaled(60_000),
  );
});
