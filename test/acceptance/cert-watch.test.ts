/**
 * paynetd's own certificates (examples/paynetd/cert-watch.ts): a warning at start when the server
 * certificate or the CA expires within the window, and once a day afterwards, so a certificate
 * that enters the window while paynetd runs for weeks is reported without a restart. Real
 * certificates from `paynet-gen certs init`; the days pass on a fake clock (no waiting).
 */
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { CertificateWatch } from "../../examples/paynetd/cert-watch.js";
import { createLog } from "../../examples/shared/log.js";
import { Harness } from "./support/harness.js";

const harness = new Harness();
const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => harness.cleanup());

/** A watch over `certs` with a 30-day window whose warning lines are collected. */
function watch(certs: string) {
  const warnings: Array<{ cert: string; daysLeft: number; msg: string }> = [];
  const log = createLog("paynetd", { format: "json", level: "info" }, (line) => {
    const parsed = JSON.parse(line) as {
      level: string;
      event?: string;
      cert: string;
      daysLeft: number;
      msg: string;
    };
    if (parsed.level === "warn" && parsed.event === "cert_expiry") warnings.push(parsed);
  });
  const certificates = new CertificateWatch(log, 30);
  const files = {
    dir: certs,
    cert: join(certs, "server.crt"),
    key: join(certs, "server.key"),
    ca: join(certs, "ca.crt"),
    crl: undefined,
  };
  return { certificates, files, warnings };
}

describe("paynetd's certificate watch", () => {
  it("warns at start about a server certificate within the window, naming it and its days left", async () => {
    const { certificates, files, warnings } = watch(await harness.certs({ days: 5 }));
    certificates.load(files, true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ cert: "server" });
    expect(warnings[0]!.daysLeft).toBeLessThanOrEqual(5);
    expect(warnings[0]!.msg).toMatch(
      /^server certificate \S+server\.crt \(CN=[^)]*\) expires in \d day\(s\)/,
    );
  });

  it("warns once a day from the day the certificate enters the window, without a restart", async () => {
    const { certificates, files, warnings } = watch(await harness.certs({ days: 40 }));
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date", "setInterval", "clearInterval"] });
    certificates.load(files, true);
    certificates.start();
    // 40 days left at start: nothing to say, and nothing for the next 9 days.
    expect(warnings).toEqual([]);
    vi.advanceTimersByTime(9 * DAY_MS);
    expect(warnings).toEqual([]);
    // It enters the window on day 10 (or 11, as its notAfter falls): from then on, one warning per
    // daily check, each with fewer days left.
    const perDay: number[] = [];
    for (let day = 10; day <= 14; day++) {
      vi.advanceTimersByTime(DAY_MS);
      perDay.push(warnings.length);
    }
    const firstDay = perDay.findIndex((count) => count > 0);
    expect(firstDay === 0 || firstDay === 1, `warnings by day: ${perDay.join(",")}`).toBe(true);
    expect(perDay.slice(firstDay)).toEqual(perDay.slice(firstDay).map((_, i) => i + 1));
    expect(warnings.every((warning) => warning.cert === "server")).toBe(true);
    expect(warnings.at(-1)!.daysLeft).toBeLessThan(warnings[0]!.daysLeft);
    // Stopped (paynetd shutting down): no more checks.
    const before = warnings.length;
    certificates.stop();
    vi.advanceTimersByTime(5 * DAY_MS);
    expect(warnings).toHaveLength(before);
  });

  it("watches the client CA under mTLS too", async () => {
    const { certificates, files, warnings } = watch(await harness.certs({ days: 40 }));
    certificates.load(files, true);
    // The CA lives much longer than the leaf: warned about only near its own end.
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date", "setInterval", "clearInterval"] });
    certificates.start();
    const caDays = Math.floor(
      (certificates
        .expiries()
        .find((e) => e.cert === "ca")!
        .notAfter.getTime() -
        Date.now()) /
        DAY_MS,
    );
    vi.advanceTimersByTime((caDays - 20) * DAY_MS);
    expect(warnings.some((warning) => warning.cert === "ca")).toBe(true);
    certificates.stop();
  });
});
