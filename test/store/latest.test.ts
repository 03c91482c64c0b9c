// The in-memory windows inference and alerts read: latest values and recent spans, and
// how a backwards clock jump separates them.

import { describe, expect, it } from "vitest";
import type { Reading } from "../../src/core/reading.js";
import { LatestValues } from "../../src/store/latest.js";
import { good } from "./support.js";

const bad = (tag: string, ts: number): Reading => ({
  tag,
  ts,
  value: null,
  quality: { status: "bad", reason: "timeout" },
});

describe("latest values", () => {
  it("give each tag's newest good number; a bad or non-finite newest gives none", () => {
    const lv = new LatestValues();
    lv.write([good("a", 1, 1.5), good("b", 1, true), good("c", 1, 2n ** 40n), good("d", 1, 3)]);
    lv.write([good("a", 2, 2.5), bad("d", 2), good("e", 2, Number.NaN), good("f", 2, "x")]);
    expect(lv.latest("a")).toEqual({ ts: 2, value: 2.5 });
    expect(lv.latest("b")).toEqual({ ts: 1, value: 1 });
    expect(lv.latest("c")).toEqual({ ts: 1, value: 2 ** 40 });
    for (const tag of ["d", "e", "f", "none"]) expect(lv.latest(tag)).toBeUndefined();
    expect(lv.snapshot().map((r) => r.tag)).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("keep a recent span of good values per tag, as far back as keepMs", () => {
    const lv = new LatestValues(1000);
    for (let ts = 0; ts <= 5000; ts += 100) lv.write([good("a", ts, ts), bad("b", ts)]);
    const span = lv.recent(["a", "b"], 4500);
    expect(span.get("a")?.ts).toEqual([4500, 4600, 4700, 4800, 4900, 5000]);
    expect(span.get("a")?.values).toEqual([4500, 4600, 4700, 4800, 4900, 5000]);
    expect(span.get("b")).toEqual({ ts: [], values: [] });
    // Trimmed in bulk: at most twice keepMs is held.
    expect(lv.recent(["a"], 0).get("a")?.ts[0]).toBeGreaterThanOrEqual(3000);
  });

  it("start afresh at a backwards jump: no window mixes the two sides", () => {
    const lv = new LatestValues(60_000);
    for (let ts = 100_000; ts < 110_000; ts += 1000) {
      lv.write([good("a", ts, 1), good("b", ts, 2)]);
    }
    lv.clockJumped(-30_000); // reported by the clock monitor

    // Every tag's window and latest value belong to the old side until it reads again.
    expect(lv.recent(["a", "b"], 0)).toEqual(
      new Map([
        ["a", { ts: [], values: [] }],
        ["b", { ts: [], values: [] }],
      ]),
    );
    expect(lv.latest("a")).toBeUndefined();

    // After a jump back of 30 s, new readings are older than the last ones: taken, not frozen.
    lv.write([good("a", 80_000, 10), bad("b", 80_000)]);
    lv.write([good("a", 81_000, 11), bad("b", 81_000)]);
    expect(lv.latest("a")).toEqual({ ts: 81_000, value: 11 });
    expect(lv.latest("b")).toBeUndefined();
    // b went bad after the jump: it has no points from before next to a's from after.
    const span = lv.recent(["a", "b"], 0);
    expect(span.get("a")?.ts).toEqual([80_000, 81_000]);
    expect(span.get("b")?.ts).toEqual([]);
    expect(lv.segment).toBe(1);
  });

  it("see a jump in the readings before the monitor reports it", () => {
    const lv = new LatestValues(60_000);
    lv.write([good("a", 100_000, 1), good("b", 100_000, 2)]);
    lv.write([good("a", 101_000, 1), good("b", 101_000, 2)]);
    lv.write([good("a", 71_000, 3)]); // older than a's newest: the clock stepped back
    expect(lv.segment).toBe(1);
    expect(lv.latest("b")).toBeUndefined();
    expect(lv.recent(["a", "b"], 0).get("b")?.ts).toEqual([]);
    expect(lv.recent(["a"], 0).get("a")?.ts).toEqual([71_000]);
    lv.write([good("b", 71_000, 4)]); // not a second jump: b's newest is from before
    expect(lv.segment).toBe(1);
    expect(lv.latest("b")).toEqual({ ts: 71_000, value: 4 });
  });

  it("keep everything across a forward jump", () => {
    const lv = new LatestValues(60_000);
    lv.write([good("a", 1000, 1)]);
    lv.clockJumped(86_400_000);
    lv.write([good("a", 86_402_000, 2)]);
    expect(lv.segment).toBe(0);
    expect(lv.recent(["a"], 0).get("a")?.values).toEqual([1, 2]);
    expect(lv.latest("a")).toEqual({ ts: 86_402_000, value: 2 });
  });
});
