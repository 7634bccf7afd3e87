/** `npm run demo` after the build: every protocol step shows up and the demo exits 0. */
import { describe, expect, it } from "vitest";
import { exampleEnv, ManagedProcess, REGISTER_TSX } from "../../examples/demo/processes.js";
import { scaled } from "../helpers/time.js";

describe("npm run demo", () => {
  it(
    "shows Register → Login → Ping/Pong → CoinCommand → CoinAcks → admin CoinCommand → reconnect → Query and exits 0",
    async () => {
      const demo = new ManagedProcess({
        name: "demo",
        args: ["--import", REGISTER_TSX, "examples/demo/main.ts"],
        env: exampleEnv(),
      });
      try {
        const exit = await demo.exited;
        expect(exit, demo.lines.join("\n")).toEqual({ code: 0, signal: null });
        for (const step of [
          "Register",
          "Login",
          "online",
          "CoinCommand",
          "CoinAck ACCEPTED",
          "CoinAck RUNNING",
          "CoinAck DONE",
          "Ping",
          "Pong",
          "admin refuses a request without the token \\(401\\)",
          "admin CoinCommand",
          "reconnect",
          "Query",
          "Query answered",
        ]) {
          expect(demo.find(new RegExp(`^\\[demo\\] ✓ ${step}$`)), step).toBeDefined();
        }
        expect(demo.find(/^\[demo\] all steps seen/)).toBeDefined();
      } finally {
        demo.kill();
      }
    },
    scaled(60_000),
  );
});
