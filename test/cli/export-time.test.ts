import { afterEach, describe, expect, it } from "vitest";
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
  });
});
