import { describe, expect, it } from "vitest";
import { PageHinkley, ResidualMatcher } from "../../src/model/drift.js";

/** Deterministic standard normal samples (Box-Muller over mulberry32). */
function normals(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

// The defaults of learning.drift: delta 0.5, threshold 50, minSamples 30.
const options = { delta: 0.5, threshold: 50, minSamples: 30 };

describe("PageHinkley", () => {
  it("rarely alarms on stationary absolute residuals", () => {
    let alarms = 0;
    let quietFirst5000 = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const next = normals(seed);
      const ph = new PageHinkley(options);
      let first: number | undefined;
      // |N(0, 4)|: residuals of a model with about 3.2 MW MAE, the CCPP ballpark.
      for (let i = 0; i < 100_000; i++) {
        if (!ph.update(Math.abs(4 * next()))) continue;
        alarms++;
        first ??= i;
        ph.reset();
      }
      if (first === undefined || first >= 5_000) quietFirst5000++;
    }
    // With the default delta and threshold this noise gives about one false alarm per 40,000
    // samples (11 h at a 1 s grid): an extra retrain, which promotion keeps harmless.
    expect(alarms / 80).toBeLessThan(0.5);
    expect(quietFirst5000).toBeGreaterThanOrEqual(7);
  });

  it("alarms within 15 samples after the mean residual steps up by 10", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const next = normals(seed);
      const ph = new PageHinkley(options);
      for (let i = 0; i < 5_000; i++) expect(ph.update(Math.abs(4 * next()))).toBe(false);

      let after = 0;
      while (!ph.update(10 + Math.abs(4 * next()))) {
        after++;
        expect(after, `seed ${seed}`).toBeLessThan(15);
      }
    }
  });

  it("waits for minSamples and starts afresh after reset", () => {
    const ph = new PageHinkley({ delta: 0, threshold: 1, minSamples: 5 });
    const seen = [0, 0, 0, 100].map((x) => ph.update(x));
    expect(seen).toEqual([false, false, false, false]);
    expect(ph.update(100)).toBe(true);

    ph.reset();
    expect(ph.samples).toBe(0);
    expect(ph.statistic).toBe(0);
  });
});

describe("ResidualMatcher", () => {
  it("pairs a prediction with the last target reading of its cell once the cell is over", () => {
    const m = new ResidualMatcher(1000, 3);
    m.expect(10_200, 50);
    m.expect(11_500, 60);
    const readings = { ts: [10_100, 10_900, 11_300], values: [1, 2, 3] };

    // At 11_999 the 11_000 cell is still open: only the 10_000 cell settles, with its last value.
    expect(m.settle(readings, 11_999)).toEqual([{ cellTs: 10_000, predicted: 50, actual: 2 }]);
    expect(m.settle(readings, 12_000)).toEqual([{ cellTs: 11_000, predicted: 60, actual: 3 }]);
    expect(m.size).toBe(0);
  });

  it("gives up on a cell whose target never came", () => {
    const m = new ResidualMatcher(1000, 3);
    m.expect(10_000, 50);
    const none = { ts: [], values: [] };

    expect(m.settle(none, 13_500)).toEqual([]);
    expect(m.size).toBe(1);
    expect(m.settle(none, 14_000)).toEqual([]);
    expect(m.size).toBe(0);
  });
});
