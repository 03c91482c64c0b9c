import { describe, expect, it } from "vitest";
import type { TimeSeries } from "../../src/core/series.js";
import {
  type CleaningCounts,
  cleaningLookbackMs,
  cleanSeries,
  emptyCleaningCounts,
  MAD_TO_SIGMA,
  outlierBounds,
} from "../../src/preprocess/clean.js";

function series(points: [number, number][]): TimeSeries {
  return { ts: points.map((p) => p[0]), values: points.map((p) => p[1]) };
}

/** Readings one second apart from ts 0. */
function everySecond(values: number[]): TimeSeries {
  return { ts: values.map((_, i) => i * 1000), values: [...values] };
}

function clean(s: TimeSeries, options: Parameters<typeof cleanSeries>[1]) {
  const counts: CleaningCounts = emptyCleaningCounts();
  return { out: cleanSeries(s, options, 1000, counts), counts };
}

describe("cleanSeries: order and duplicates", () => {
  it("keeps the later of two readings with the same ts and counts one duplicate", () => {
    const { out, counts } = clean(
      series([
        [0, 1],
        [0, 2],
        [1000, 3],
      ]),
      {},
    );

    expect(out).toEqual(
      series([
        [0, 2],
        [1000, 3],
      ]),
    );
    expect(counts.duplicate).toBe(1);
  });

  it("does not treat the same value at another ts as a duplicate", () => {
    const { out, counts } = clean(everySecond([5, 5, 5]), {});

    expect(out.values).toEqual([5, 5, 5]);
    expect(counts.duplicate).toBe(0);
  });

  it("drops and counts readings out of order and values that are not finite", () => {
    const input = series([
      [0, 1],
      [2000, 2],
      [1000, 9],
      [3000, Number.NaN],
      [4000, 4],
    ]);
    const { out, counts } = clean(input, {});

    expect(out).toEqual(
      series([
        [0, 1],
        [2000, 2],
        [4000, 4],
      ]),
    );
    expect(counts.outOfOrder).toBe(1);
    expect(counts.notFinite).toBe(1);
  });

  it("leaves its input untouched", () => {
    const input = series([
      [0, 1],
      [0, 2],
    ]);
    clean(input, { min: 5 });

    expect(input).toEqual(
      series([
        [0, 1],
        [0, 2],
      ]),
    );
  });
});

describe("cleanSeries: plausibility limits", () => {
  it("drops values outside [min, max] and counts each side; the limits are inclusive", () => {
    const { out, counts } = clean(everySecond([-1, 50, 101, 100, 0]), { min: 0, max: 100 });

    expect(out.values).toEqual([50, 100, 0]);
    expect(out.ts).toEqual([1000, 3000, 4000]);
    expect(counts.belowMin).toBe(1);
    expect(counts.aboveMax).toBe(1);
  });
});

describe("cleanSeries: stuck sensor", () => {
  it("leaves out the readings once a value has not changed for stuckAfterMs", () => {
    // The run of 2 starts at 1000 ms; at 4000 and 5000 it has lasted >= 3000 ms.
    const { out, counts } = clean(everySecond([1, 2, 2, 2, 2, 2, 3]), { stuckAfterMs: 3000 });

    expect(out.ts).toEqual([0, 1000, 2000, 3000, 6000]);
    expect(out.values).toEqual([1, 2, 2, 2, 3]);
    expect(counts.stuck).toBe(2);
  });

  it("keeps a run shorter than stuckAfterMs", () => {
    const { out, counts } = clean(everySecond([1, 2, 2, 2, 3]), { stuckAfterMs: 3000 });

    expect(out.values).toEqual([1, 2, 2, 2, 3]);
    expect(counts.stuck).toBe(0);
  });

  it("judges a run by time, not by the number of readings", () => {
    const input = series([
      [0, 7],
      [5000, 7],
      [5001, 8],
    ]);
    const { out, counts } = clean(input, { stuckAfterMs: 5000 });

    expect(out.values).toEqual([7, 8]);
    expect(counts.stuck).toBe(1);
  });
});

describe("cleanSeries: outliers", () => {
  const values = [10, 12, 11, 13, 10, 12, 50];
  // Window before the spike: [12, 11, 13, 10, 12] → median 12, MAD 1.
  const high = 12 + 3 * MAD_TO_SIGMA * 1;
  const outlier = { windowRows: 5, threshold: 3 };

  it("clips a value beyond threshold × 1.4826 × MAD to the bound", () => {
    const { out, counts } = clean(everySecond(values), {
      outlier: { ...outlier, action: "clip" },
    });

    expect(out.values.slice(0, 6)).toEqual(values.slice(0, 6));
    expect(out.values[6]).toBeCloseTo(high, 12);
    expect(counts.outlierClipped).toBe(1);
    expect(counts.outlierDropped).toBe(0);
  });

  it("drops it with action drop", () => {
    const { out, counts } = clean(everySecond(values), {
      outlier: { ...outlier, action: "drop" },
    });

    expect(out.values).toEqual(values.slice(0, 6));
    expect(counts.outlierDropped).toBe(1);
  });

  it("does not judge against a window with MAD 0 or fewer than 3 readings", () => {
    expect(outlierBounds([5, 5, 5, 5], 3)).toBeUndefined();
    expect(outlierBounds([1, 100], 3)).toBeUndefined();

    const { out, counts } = clean(everySecond([5, 5, 5, 5, 6]), {
      outlier: { ...outlier, action: "drop" },
    });
    expect(out.values).toEqual([5, 5, 5, 5, 6]);
    expect(counts.outlierDropped).toBe(0);
  });

  it("uses no reading older than windowRows grid steps", () => {
    // The three calm readings are 10 s before the spike; windowRows 5 × 1 s reaches 5 s back.
    const input = series([
      [0, 10],
      [1000, 12],
      [2000, 11],
      [12000, 500],
    ]);
    const { out, counts } = clean(input, { outlier: { ...outlier, action: "drop" } });

    expect(out.values).toEqual([10, 12, 11, 500]);
    expect(counts.outlierDropped).toBe(0);
  });

  it("stops clipping once a real step change fills half the window", () => {
    const step = [10, 12, 11, 13, 10, 50, 51, 50, 52, 50, 51];
    const { out } = clean(everySecond(step), { outlier: { ...outlier, action: "clip" } });

    expect(out.values[5]).toBeLessThan(50);
    expect(out.values.at(-1)).toBe(51);
  });
});

describe("cleaningLookbackMs", () => {
  it("adds the outlier window span and the stuck duration", () => {
    const options = {
      stuckAfterMs: 7000,
      outlier: { windowRows: 5, threshold: 3, action: "clip" as const },
    };

    expect(cleaningLookbackMs(options, 1000)).toBe(12000);
    expect(cleaningLookbackMs({}, 1000)).toBe(0);
  });
});
