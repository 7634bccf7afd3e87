import { performance } from "node:perf_hooks";
import { describe, expect, it, vi } from "vitest";
import { InvalidOptionsError } from "../../runtime/src/errors.js";
import { sharedTimerWheel, TimerWheel } from "../../runtime/src/timers.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("TimerWheel", () => {
  it("fires callbacks in deadline order, never before their delay", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const fired: Array<{ name: string; elapsed: number; delay: number }> = [];
    const done = deferred();
    const start = performance.now();
    for (const [name, delay] of [
      ["c", 60],
      ["a", 10],
      ["b", 30],
    ] as const) {
      wheel.schedule(delay, () => {
        fired.push({ name, elapsed: performance.now() - start, delay });
        if (fired.length === 3) done.resolve();
      });
    }
    expect(wheel.size).toBe(3);
    await done.promise;
    expect(fired.map((f) => f.name)).toEqual(["a", "b", "c"]);
    for (const f of fired) expect(f.elapsed).toBeGreaterThanOrEqual(f.delay);
    expect(wheel.size).toBe(0);
  });

  it("does not run cancelled timers", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const fired: string[] = [];
    const cancelled = wheel.schedule(10, () => fired.push("cancelled"));
    const done = deferred();
    wheel.schedule(30, () => {
      fired.push("kept");
      done.resolve();
    });
    cancelled.cancel();
    cancelled.cancel();
    expect(cancelled.active).toBe(false);
    expect(wheel.size).toBe(1);
    await done.promise;
    expect(fired).toEqual(["kept"]);
  });

  it("reschedules a timer to a later deadline and re-arms a fired one", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const order: string[] = [];
    const done = deferred();
    let runs = 0;
    const moved = wheel.schedule(5, () => {
      order.push("moved");
      if (++runs === 1) moved.reschedule(5);
      else done.resolve();
    });
    wheel.schedule(20, () => order.push("marker"));
    moved.reschedule(40);
    expect(wheel.size).toBe(2);
    await done.promise;
    expect(order).toEqual(["marker", "moved", "moved"]);
    expect(moved.active).toBe(false);
  });

  it("by default writes a throwing callback to stderr once per distinct message", async () => {
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const wheel = new TimerWheel({ tickMs: 5 });
      const tag = `timer-bug-${Math.random()}`;
      const fail = (message: string) => () => {
        const error = new Error(message);
        error.stack = `Error: ${message}`; // same text every time, as a bug in one place would give
        throw error;
      };
      for (let i = 0; i < 3; i++) wheel.schedule(5, fail(tag));
      wheel.schedule(10, fail(`${tag}-other`));
      const done = deferred();
      wheel.schedule(30, () => done.resolve());
      await done.promise;
      const ours = written.filter((line) => line.includes(tag));
      expect(ours).toHaveLength(2);
      expect(ours[0]).toContain("paynet: a timer callback threw");
    } finally {
      write.mockRestore();
    }
  });

  it("takes a replacement error handler at any time", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const errors: unknown[] = [];
    wheel.onError = (error) => errors.push(error);
    const done = deferred();
    wheel.schedule(5, () => {
      throw new Error("routed");
    });
    wheel.schedule(10, () => done.resolve());
    await done.promise;
    expect(errors.map((e) => (e as Error).message)).toEqual(["routed"]);
    expect(() => {
      wheel.onError = "nope" as never;
    }).toThrow(InvalidOptionsError);
  });

  it("keeps running when a callback throws, and reports the error", async () => {
    const errors: unknown[] = [];
    const wheel = new TimerWheel({ tickMs: 5, onError: (e) => errors.push(e) });
    const done = deferred();
    wheel.schedule(5, () => {
      throw new Error("boom");
    });
    wheel.schedule(5, () => done.resolve());
    wheel.schedule(15, () => {
      throw new Error("again");
    });
    const after = deferred();
    wheel.schedule(30, () => after.resolve());
    await done.promise;
    await after.promise;
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom", "again"]);
    expect(wheel.size).toBe(0);
  });

  it("lets a callback cancel another timer of the same tick", async () => {
    const wheel = new TimerWheel({ tickMs: 20 });
    const fired: string[] = [];
    const done = deferred();
    // Same delay, so both land in the same bucket; whichever runs first cancels the other.
    const timers = [1, 2].map((n) =>
      wheel.schedule(1, () => {
        fired.push(`t${n}`);
        for (const t of timers) t.cancel();
      }),
    );
    wheel.schedule(60, () => done.resolve());
    await done.promise;
    expect(fired).toHaveLength(1);
    expect(wheel.size).toBe(0);
  });

  it("holds 100k timers with O(1) cancel and returns to empty", () => {
    const wheel = new TimerWheel({ tickMs: 50 });
    const timers = Array.from({ length: 100_000 }, (_, i) =>
      wheel.schedule(60_000 + (i % 1000) * 10, () => {}),
    );
    expect(wheel.size).toBe(100_000);
    for (const timer of timers) timer.reschedule(70_000);
    expect(wheel.size).toBe(100_000);
    for (const timer of timers) timer.cancel();
    expect(wheel.size).toBe(0);
  });

  it("runs a timer scheduled with delay 0 on the next tick, not synchronously", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    let ran = false;
    const done = deferred();
    wheel.schedule(0, () => {
      ran = true;
      done.resolve();
    });
    expect(ran).toBe(false);
    await done.promise;
    expect(ran).toBe(true);
  });

  it("rejects invalid options and delays", () => {
    expect(() => new TimerWheel({ tickMs: 0 })).toThrow(InvalidOptionsError);
    const wheel = new TimerWheel();
    expect(() => wheel.schedule(-1, () => {})).toThrow(InvalidOptionsError);
    expect(() => wheel.schedule(Number.NaN, () => {})).toThrow(InvalidOptionsError);
    expect(wheel.size).toBe(0);
  });

  it("shares one lazily created wheel with a 50 ms tick", () => {
    expect(sharedTimerWheel()).toBe(sharedTimerWheel());
    expect(sharedTimerWheel().tickMs).toBe(50);
  });
});
