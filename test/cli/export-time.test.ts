import { afterEach, describe, expect, it, vi } from "vitest";
import { parseTime } from "../../src/cli/export.js";

describe("export --from/--to", () => {
  const tz = process.env.TZ;
  afterEach(() => {
    process.env.TZ = tz;
  });

  it("reads a time without an offset as UTC, whatever the gateway's time zone", () => {
    // Node applies a changed TZ at once; a gateway set to local time is the case that matters.
    process.env.TZ = "America/Los_Angeles";
    const midnight = Date.UTC(2026, 11, 4);
    expect(parseTime("from", "2026-12-04")).toBe(midnight);
    expect(parseTime("from", "2026-12-04T00:00")).toBe(midnight);
    expect(parseTime("from", "2026-12-04T00:00:00.000")).toBe(midnight);
    expect(parseTime("from", "2026-12-04T01:00+01:00")).toBe(midnight);
    expect(parseTime("from", "2026-12-04T00:00Z")).toBe(midnight);
    expect(parseTime("from", String(midnight))).toBe(midnight);
    expect(parseTime("from", "2026-12-03 22:00")).toBe(midnight - 2 * 3_600_000);
    expect(parseTime("from", "2026-12-04T00:00:01.5")).toBe(midnight + 1500);
    expect(parseTime("from", "2026-12-03T16:00-08:00")).toBe(midnight);
  });

  it("refuses a date that does not exist, or text that is no time", () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => {
      throw new Error("exit");
    }) as never);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      for (const text of ["2026-02-30", "2026-13-01", "2026-12-04T25:00", "next tuesday"]) {
        expect(() => parseTime("from", text)).toThrow("exit");
      }
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/--from "2026-02-30" is not a time/);
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });
});
