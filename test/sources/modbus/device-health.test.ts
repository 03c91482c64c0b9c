// The unit-level state machines on their own: degradation with doubling skips, and the
// deadband filter's comparisons for bigints and non-numbers.

import { describe, expect, it } from "vitest";
import type { Reading, Value } from "../../../src/core/reading.js";
import { DeadbandFilter } from "../../../src/sources/modbus/deadband.js";
import { DeviceHealth } from "../../../src/sources/modbus/device-health.js";

describe("DeviceHealth", () => {
  it("degrades after afterFailures, doubles each failed probe's skip up to the cap", () => {
    const health = new DeviceHealth({ afterFailures: 1, skipMs: 1000, maxSkipMs: 3000 });
    expect(health.admit(0)).toBe("poll");
    expect(health.unanswered(0)).toEqual(["down", "degraded"]);
    expect(health.admit(999)).toBe("skip");
    expect(health.admit(1000)).toBe("probe");
    expect(health.admit(1000)).toBe("skip"); // one probe at a time
    const skips: number[] = [];
    let now = 1000;
    for (let i = 0; i < 3; i++) {
      expect(health.unanswered(now)).toEqual([]);
      skips.push(health.skipMs);
      now = health.skipUntil;
      expect(health.admit(now)).toBe("probe");
    }
    expect(skips).toEqual([2000, 3000, 3000]);
    expect(health.answered()).toEqual(["up"]);
    expect(health.admit(now)).toBe("poll");
    expect(health.answered()).toEqual([]);
  });

  it("reports a first answer apart from a recovery, and down before degraded", () => {
    const health = new DeviceHealth({ afterFailures: 3, skipMs: 1000, maxSkipMs: 3000 });
    expect(health.answered()).toEqual(["answering"]);
    expect(health.unanswered(0)).toEqual(["down"]);
    expect(health.unanswered(0)).toEqual([]);
    expect(health.unanswered(0)).toEqual(["degraded"]);
  });
});

describe("DeadbandFilter", () => {
  const good = (value: Value): Reading => ({
    tag: "d.t",
    ts: 0,
    value,
    quality: { status: "good" },
  });

  it("compares 64-bit values exactly above 2^53", () => {
    const filter = new DeadbandFilter();
    const tag = { deadband: 1 };
    const big = 2n ** 60n;
    expect(filter.pass(tag, good(big), 0)).toBe(true);
    expect(filter.pass(tag, good(big + 1n), 1)).toBe(false);
    expect(filter.pass(tag, good(big + 2n), 2)).toBe(true);
  });

  it("passes booleans and strings on change only, and everything without a deadband", () => {
    const filter = new DeadbandFilter();
    const tag = { deadband: 0 };
    const values = [true, true, false, "a", "a", "b"];
    expect(values.map((v, i) => filter.pass(tag, good(v), i))).toEqual([
      true,
      false,
      true,
      true,
      false,
      true,
    ]);
    expect(filter.pass({}, good(1), 0) && filter.pass({}, good(1), 1)).toBe(true);
  });
});
