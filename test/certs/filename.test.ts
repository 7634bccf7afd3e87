import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deviceFileName } from "../../src/certs/filename.js";

const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const HASHED = /-[0-9a-f]{12}$/;

describe("deviceFileName", () => {
  it("keeps a CN made of safe characters verbatim", () => {
    for (const cn of ["device-001", "SN.0042", "box_7", "a..b"]) expect(deviceFileName(cn)).toBe(cn);
  });

  it("replaces unsafe characters and appends a hash of the CN", () => {
    expect(deviceFileName("a/b")).toMatch(/^a_b-[0-9a-f]{12}$/);
    expect(deviceFileName("../../etc")).toMatch(/^_{3}\.\._etc-[0-9a-f]{12}$/);
    expect(deviceFileName("Zähler 7")).toMatch(/^Z_hler_7-[0-9a-f]{12}$/);
    expect(deviceFileName("设备")).toMatch(/^__-[0-9a-f]{12}$/);
  });

  it("never yields an empty, hidden, dot-only or reserved name", () => {
    for (const cn of ["", ".", "..", ".hidden", "ca", "CA", "server", "nul", "COM1"]) {
      const name = deviceFileName(cn);
      expect(name, cn).toMatch(SAFE_NAME);
      expect(name, cn).toMatch(HASHED);
    }
  });

  it("keeps distinct CNs apart even when they sanitise alike or mimic a hashed name", () => {
    const slash = deviceFileName("a/b");
    expect(new Set([slash, deviceFileName("a_b"), deviceFileName("a\\b"), deviceFileName("a b")]).size).toBe(
      4,
    );
    // A CN spelled like another CN's hashed file name is itself hashed.
    expect(deviceFileName(slash)).not.toBe(slash);
  });

  it("bounds the length of long names", () => {
    const name = deviceFileName("x".repeat(1000));
    expect(name.length).toBeLessThanOrEqual(113);
    expect(name).toMatch(HASHED);
  });

  it("is safe and injective for arbitrary strings (property)", () => {
    const cn = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.stringMatching(/^[a-z./_-]{0,12}$/));
    fc.assert(
      fc.property(cn, cn, (a, b) => {
        const na = deviceFileName(a);
        expect(na).toMatch(SAFE_NAME);
        expect(na.length).toBeLessThanOrEqual(113);
        if (a !== b) expect(deviceFileName(b)).not.toBe(na);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("deviceFileName and the names certs init owns", () => {
  it("hashes CNs equal to ca/server/device in any case, so no device lands on device.crt", () => {
    for (const cn of ["device", "DEVICE", "Device", "ca", "Ca", "SERVER"]) {
      const name = deviceFileName(cn);
      expect(name, cn).toMatch(HASHED);
      expect(name.toLowerCase().replace(HASHED, ""), cn).toBe(cn.toLowerCase());
    }
  });

  it("hashes Windows device names also with an extension, and keeps look-alikes verbatim", () => {
    for (const cn of ["NUL", "nul.x", "Con.backup", "lpt1.a.b"])
      expect(deviceFileName(cn), cn).toMatch(HASHED);
    for (const cn of ["device-001", "devices", "ca.backup", "console", "server2"]) {
      expect(deviceFileName(cn), cn).toBe(cn);
    }
  });
});
