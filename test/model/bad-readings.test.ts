import { describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/reading.js";
import { RecentBadReadings } from "../../src/model/bad-readings.js";

const bad = (tag: string, ts: number): Reading => ({
  tag,
  ts,
  value: null,
  quality: { status: "bad", reason: "timeout" },
});

describe("recent bad readings at inference", () => {
  it("keeps bad readings' times per tag, and restarts every tag at a backwards step", () => {
    const recent = new RecentBadReadings(["a", "b"], 60_000);
    recent.observe([
      bad("a", 1000),
      bad("b", 2000),
      { ...bad("a", 3000), quality: { status: "good" } },
    ]);
    expect(recent.badReadings(["a", "b"], 0, 10_000)).toEqual(
      new Map([
        ["a", [1000]],
        ["b", [2000]],
      ]),
    );

    recent.clockJumped(5000);
    expect(recent.badReadings(["a"], 0, 10_000).get("a")).toEqual([1000]);
    // Back: no mark from before the step may block a fill in the window after it.
    recent.clockJumped(-5000);
    expect(recent.badReadings(["a", "b"], 0, 10_000)).toEqual(
      new Map([
        ["a", []],
        ["b", []],
      ]),
    );
  });
});
