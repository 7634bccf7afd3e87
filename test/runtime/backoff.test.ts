import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_BACKOFF, resolveBackoffPolicy } from "../../runtime/src/client/backoff.js";
import { InvalidOptionsError } from "../../runtime/src/errors.js";
import { makeClient, stopClients } from "../helpers/client-harness.js";
import { makeTestPki } from "../helpers/pki.js";

const noJitter = () => 0;
const maxJitter = () => 0.999_999;

describe("backoffDelay", () => {
  it("uses the documented defaults: 1 s, ×2, cap 64 s, full jitter, unlimited attempts, stable after 30 s", () => {
    expect(resolveBackoffPolicy()).toEqual({
      initialDelayMs: 1_000,
      factor: 2,
      maxDelayMs: 64_000,
      jitter: 1,
      maxAttempts: Number.POSITIVE_INFINITY,
      spreadMs: 5_000,
      stableAfterMs: 30_000,
    });
  });

  it("grows exponentially and is capped (random pinned to 0 gives the un-jittered delay)", () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, DEFAULT_BACKOFF, noJitter));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 64_000, 64_000, 64_000]);
  });

  it("jitters every delay, the first included, within [base × (1 − jitter), base]", () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, maxJitter)).toBe(0);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0.5)).toBe(500);
    expect(backoffDelay(7, DEFAULT_BACKOFF, () => 0.5)).toBe(32_000);
    const half = resolveBackoffPolicy({ jitter: 0.5 });
    expect(backoffDelay(1, half, maxJitter)).toBe(500);
    expect(backoffDelay(1, half, () => 0.5)).toBe(750);
    const policy = resolveBackoffPolicy({ initialDelayMs: 100, factor: 3, maxDelayMs: 5_000, jitter: 1 });
    expect(backoffDelay(1, policy, maxJitter)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(150);
  });

  it("spreads a fleet: the first delay of many devices is not one value", () => {
    const firsts = new Set(Array.from({ length: 50 }, () => backoffDelay(1, DEFAULT_BACKOFF)));
    expect(firsts.size).toBeGreaterThan(10);
    for (const d of firsts) expect(d >= 0 && d <= 1_000).toBe(true);
  });

  it("stays within bounds for any policy, retry and random value (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initial, factor, extra, jitter, retry, r) => {
          const policy = resolveBackoffPolicy({
            initialDelayMs: initial,
            factor,
            maxDelayMs: initial + extra,
            jitter,
          });
          const base = initial === 0 ? 0 : Math.min(initial * factor ** (retry - 1), initial + extra);
          const delay = backoffDelay(retry, policy, () => r);
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeLessThanOrEqual(Math.round(base) + 1);
          expect(delay).toBeGreaterThanOrEqual(Math.round(base * (1 - jitter)) - 1);
          if (retry > 1) {
            const previous = backoffDelay(retry - 1, policy, noJitter);
            expect(backoffDelay(retry, policy, noJitter)).toBeGreaterThanOrEqual(previous);
          }
        },
      ),
    );
  });

  it("rejects a retry number below 1", () => {
    expect(() => backoffDelay(0, DEFAULT_BACKOFF)).toThrow(RangeError);
  });
});

describe("resolveBackoffPolicy", () => {
  it.each([
    [
      { initialDelayMs: -1 },
      "invalid option reconnect.initialDelayMs: expected a finite number >= 0, got -1",
    ],
    [{ factor: 0.5 }, "invalid option reconnect.factor: expected a finite number >= 1, got 0.5"],
    [{ jitter: 1.5 }, "invalid option reconnect.jitter: expected a number between 0 and 1, got 1.5"],
    [
      { maxDelayMs: Number.NaN },
      "invalid option reconnect.maxDelayMs: expected a finite number >= 0, got NaN",
    ],
    [
      { initialDelayMs: 5_000, maxDelayMs: 1_000 },
      "invalid option reconnect.maxDelayMs: must be >= initialDelayMs (5000), got 1000",
    ],
    [{ maxAttempts: 0 }, "invalid option reconnect.maxAttempts: expected an integer >= 1, got 0"],
    [{ maxAttempts: 2.5 }, "invalid option reconnect.maxAttempts: expected an integer >= 1, got 2.5"],
  ])("rejects %o", (options, message) => {
    const error = (() => {
      try {
        resolveBackoffPolicy(options);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe("INVALID_OPTIONS");
    expect((error as Error).message).toBe(message);
  });
});

describe("PaynetClient backoff (integration)", () => {
  afterEach(stopClients);

  it("jitters every retry delay with the injected random source, within [delay × (1 − jitter), delay]", async () => {
    const pki = await makeTestPki();
    // A port nobody listens on: every attempt fails at once with ECONNREFUSED.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const script = [0.99, 0, 0.5, 0.25, 0.75, 0.1];
    let draws = 0;
    const policy = { initialDelayMs: 40, factor: 2, maxDelayMs: 160, jitter: 0.5 };
    const client = makeClient(pki, port, {
      reconnect: { ...policy, random: () => script[draws++ % script.length] as number },
    });
    client.on("error", () => {});
    const delays: number[] = [];
    const enough = new Promise<void>((resolve) => {
      client.on("reconnecting", ({ delayMs }) => {
        delays.push(delayMs);
        if (delays.length === script.length) resolve();
      });
    });
    client.start();
    await enough;
    await client.stop();

    const bases = [40, 80, 160, 160, 160, 160];
    expect(delays).toEqual(bases.map((base, i) => Math.round(base * (1 - 0.5 * (script[i] as number)))));
    delays.forEach((delay, i) => {
      const base = bases[i] as number;
      expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.5));
      expect(delay).toBeLessThanOrEqual(base);
    });
    // The first retry is jittered too, and the capped delays still vary.
    expect(delays[0]).toBeLessThan(40);
    expect(new Set(delays.slice(2)).size).toBeGreaterThan(1);
  });
});
