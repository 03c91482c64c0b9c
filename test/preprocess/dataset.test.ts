import { describe, expect, it } from "vitest";
import { type LearningConfig, learningSchema } from "../../src/config/schema.js";
import type { TimeSeries } from "../../src/core/series.js";
import {
  buildDataset,
  datasetTags,
  inferenceSpan,
  inputsRowsNeeded,
  trainingRows,
} from "../../src/preprocess/dataset.js";

function config(input: Record<string, unknown>): LearningConfig {
  return learningSchema.parse({ target: "line.efficiency", ...input });
}

/** Readings one second apart from ts 0; null leaves the second out. */
function everySecond(values: (number | null)[]): TimeSeries {
  const out: TimeSeries = { ts: [], values: [] };
  values.forEach((v, i) => {
    if (v === null) return;
    out.ts.push(i * 1000);
    out.values.push(v);
  });
  return out;
}

describe("datasetTags", () => {
  it("lists features, then the formula's tags, then counters, once each", () => {
    const cfg = config({
      formula: "rate(line.good) * 60 / line.speed",
      counters: [{ tag: "line.good", bits: 16 }, { tag: "line.energy" }],
    });

    expect(datasetTags(cfg, ["line.speed", "line.temp"])).toEqual([
      "line.speed",
      "line.temp",
      "line.good",
      "line.energy",
    ]);
    expect(datasetTags(config({}), ["a.b"])).toEqual(["a.b", "line.efficiency"]);
  });
});

describe("buildDataset end to end", () => {
  const cfg = config({
    formula: "rate(line.good) * 60",
    counters: [{ tag: "line.good", bits: 16 }],
    preprocessing: [{ tag: "line.temp", min: 0, max: 200 }],
    derived: { windows: [2], stats: ["mean"], lags: [1] },
    gridMs: 1000,
    maxFillSteps: 1,
  });
  const features = ["line.temp", "line.speed"];
  const data = new Map([
    ["line.temp", everySecond([20, 21, 999, 23, 24, 25])],
    ["line.speed", everySecond([100, 101, 102, 103, null, 105])],
    ["line.good", everySecond([65530, 65534, 2, 6, 10, 13])],
  ]);

  const ds = buildDataset(data, cfg, features);

  it("names the columns: features, then each feature's derived columns", () => {
    expect(ds.columns).toEqual([
      "line.temp",
      "line.speed",
      "line.temp:mean2",
      "line.temp:lag1",
      "line.speed:mean2",
      "line.speed:lag1",
    ]);
  });

  it("cleans, fills, derives and computes the target across a counter rollover", () => {
    // Cell 0 has no previous row for the window or the lag; the 999 is dropped and cell 2
    // gets 21 carried forward; speed's cell 4 gets 103.
    expect(ds.ts).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(ds.X[1]).toEqual([21, 102, 21, 21, 101.5, 101]);
    expect(ds.X[3]).toEqual([24, 103, 23.5, 23, 103, 103]);
    // 4 parts per 1 s step (65534 → 2 across 2^16 is 4), times 60.
    expect(ds.y).toEqual([240, 240, 240, 240, 180]);
  });

  it("counts every value dropped, filled or repaired, and every cell left out", () => {
    expect(ds.counts.tags["line.temp"]).toMatchObject({ aboveMax: 1, filled: 1 });
    expect(ds.counts.tags["line.speed"]).toMatchObject({ filled: 1 });
    expect(ds.counts.tags["line.good"]).toMatchObject({ rollover: 1, reset: 0 });
    expect(ds.counts.rows).toEqual({
      kept: 5,
      missing: 0,
      bad: 0,
      reset: 0,
      window: 1,
      targetMissing: 0,
      divisionByZero: 0,
    });
  });

  it("returns each counter's last reading as its state", () => {
    expect(ds.counterState).toEqual({ "line.good": { ts: 5000, value: 13 } });
  });
});

describe("buildDataset: target and rows", () => {
  it("takes a target tag's value; a row without it is kept with y undefined", () => {
    const cfg = config({ gridMs: 1000, maxFillSteps: 0 });
    const data = new Map([
      ["a.x", everySecond([1, 2, 3])],
      ["line.efficiency", everySecond([0.5, null, 0.7])],
    ]);

    const ds = buildDataset(data, cfg, ["a.x"]);

    expect(ds.y).toEqual([0.5, undefined, 0.7]);
    expect(ds.counts.rows.targetMissing).toBe(1);
    expect(trainingRows(ds)).toEqual({ ts: [0, 2000], X: [[1], [3]], y: [0.5, 0.7] });
  });

  it("keeps a row whose formula divides by zero out of training, counted", () => {
    const cfg = config({ formula: "line.good / line.speed", gridMs: 1000, maxFillSteps: 0 });
    const data = new Map([
      ["line.speed", everySecond([2, 0, 4])],
      ["line.good", everySecond([10, 10, 10])],
    ]);

    const ds = buildDataset(data, cfg, ["line.speed"]);

    expect(ds.y).toEqual([5, undefined, 2.5]);
    expect(ds.counts.rows.divisionByZero).toBe(1);
    expect(trainingRows(ds).y).toEqual([5, 2.5]);
  });

  it("tells a counter reset apart: the step is left out and counted as reset", () => {
    const cfg = config({ counters: [{ tag: "line.good", bits: 16 }], maxFillSteps: 0 });
    const data = new Map([
      ["line.good", everySecond([100, 105, 3, 8])],
      ["line.efficiency", everySecond([1, 2, 3, 4])],
    ]);

    const ds = buildDataset(data, cfg, ["line.good"]);

    expect(ds.ts).toEqual([1000, 3000]);
    expect(ds.X).toEqual([[5], [5]]);
    expect(ds.counts.tags["line.good"]).toMatchObject({ reset: 1, rollover: 0 });
    expect(ds.counts.rows).toMatchObject({ kept: 2, missing: 1, reset: 1 });
  });

  it("treats a tag read through rate() but not declared as a 32-bit counter", () => {
    const cfg = config({ formula: "rate(line.good)", gridMs: 2000, maxFillSteps: 0 });
    const top = 2 ** 32;
    const data = new Map([
      ["a.x", { ts: [0, 2000, 4000], values: [1, 2, 3] }],
      ["line.good", { ts: [0, 2000, 4000], values: [top - 4, 6, 2] }],
    ]);

    const ds = buildDataset(data, cfg, ["a.x"]);

    // 10 parts in 2 s across the rollover; then a reset: unknown.
    expect(ds.y).toEqual([undefined, 5, undefined]);
    expect(ds.X).toEqual([[1], [2], [3]]);
    expect(ds.counts.tags["line.good"]).toMatchObject({ rollover: 1, reset: 1 });
    expect(ds.counterState).toEqual({ "line.good": { ts: 4000, value: 2 } });
  });

  it("uses only complete cells before untilTs", () => {
    const cfg = config({
      preprocessing: [{ tag: "a.x", resample: "mean" }],
      gridMs: 1000,
      maxFillSteps: 0,
    });
    const data = new Map([["a.x", { ts: [0, 1000, 1400, 2100], values: [1, 2, 4, 99] }]]);

    const ds = buildDataset(data, cfg, ["a.x"], {}, { untilTs: 2500 });

    expect(ds.ts).toEqual([0, 1000]);
    expect(ds.X).toEqual([[1], [3]]);
  });

  it("returns no rows for no readings", () => {
    const cfg = config({ derived: { windows: [3], stats: ["max"], lags: [2] } });
    const ds = buildDataset(new Map(), cfg, ["a.x"]);

    expect(ds).toMatchObject({ ts: [], X: [], y: [], counterState: {} });
    // The columns do not depend on the data: a caller may ask for them with no readings.
    expect(ds.columns).toEqual(["a.x", "a.x:max3", "a.x:lag2"]);
  });
});

describe("buildDataset: a missed counter poll", () => {
  it("takes the increase between the real readings, spread over the missed cell", () => {
    const cfg = config({ formula: "rate(line.good)", gridMs: 1000, maxFillSteps: 3 });
    const data = new Map([
      ["a.x", everySecond([1, 2, 3, 4, 5])],
      // Readings 0, 10, 30, 40 at 0, 1, 3 and 4 s: the poll at 2 s was missed.
      ["line.good", everySecond([0, 10, null, 30, 40])],
    ]);

    const ds = buildDataset(data, cfg, ["a.x"]);

    // Per second, not the 10, 0, 20, 10 a held level would give.
    expect(ds.y).toEqual([undefined, 10, 10, 10, 10]);
  });

  it("as an input too: the counter's column is its increase, the spread counted", () => {
    const cfg = config({ counters: [{ tag: "line.good" }], gridMs: 1000, maxFillSteps: 3 });
    const data = new Map([
      ["line.good", everySecond([0, 10, null, 30, 40])],
      ["line.efficiency", everySecond([1, 1, 1, 1, 1])],
    ]);

    const ds = buildDataset(data, cfg, ["line.good"]);

    expect(ds.X).toEqual([[10], [10], [10], [10]]);
    expect(ds.counts.tags["line.good"]).toMatchObject({ filled: 1, rollover: 0, reset: 0 });
  });
});

describe("buildDataset: bad readings", () => {
  const cfg = config({ gridMs: 1000, maxFillSteps: 3 });
  const data = new Map([
    ["a.x", everySecond([1, 2, null, null, null, 6, 7])],
    ["line.efficiency", everySecond([10, 20, null, null, null, 60, 70])],
  ]);

  it("without them, the fill bridges a short gap", () => {
    const ds = buildDataset(data, cfg, ["a.x"]);

    expect(ds.X).toEqual([[1], [2], [2], [2], [2], [6], [7]]);
    expect(ds.y).toEqual([10, 20, 20, 20, 20, 60, 70]);
  });

  it("stop the fill: from a bad reading to the next good one, inputs and target unknown", () => {
    // The device stopped answering at 2 s: a bad reading per tag per poll.
    const bad = new Map([
      ["a.x", [2000, 3000, 4000]],
      ["line.efficiency", [2000, 3000, 4000]],
    ]);

    const ds = buildDataset(data, cfg, ["a.x"], {}, { bad });

    expect(ds.ts).toEqual([0, 1000, 5000, 6000]);
    expect(ds.X).toEqual([[1], [2], [6], [7]]);
    expect(trainingRows(ds).y).toEqual([10, 20, 60, 70]);
    expect(ds.counts.rows).toMatchObject({ kept: 4, bad: 3, missing: 0 });
    expect(ds.counts.tags["a.x"]).toMatchObject({ bad: 3, filled: 0 });
  });

  it("end the target's fill on its own: the rows stay, with the target unknown", () => {
    const bad = new Map([["line.efficiency", [2000]]]);

    const ds = buildDataset(data, cfg, ["a.x"], {}, { bad });

    expect(ds.X).toHaveLength(7);
    expect(ds.y).toEqual([10, 20, undefined, undefined, undefined, 60, 70]);
  });

  it("count for a cell only when they come after its last good reading", () => {
    const within = new Map([
      ["a.x", { ts: [0, 1100, 1900, 2500], values: [1, 2, 3, 4] }],
      ["line.efficiency", { ts: [0, 1000, 2000], values: [1, 2, 3] }],
    ]);
    // Bad at 1.5 s, then good at 1.9 s: cell 1 is known. Bad at 2.7 s after the good at
    // 2.5 s: cell 2 is not.
    const bad = new Map([["a.x", [1500, 2700]]]);

    const ds = buildDataset(within, cfg, ["a.x"], {}, { bad });

    expect(ds.X).toEqual([[1], [3]]);
  });
});

describe("buildDataset: counter state across a gateway restart", () => {
  const cfg = config({ counters: [{ tag: "line.good", bits: 16 }], maxFillSteps: 1 });
  const features = ["line.good"];
  const before = new Map([["line.good", everySecond([65520, 65530])]]);
  // After the restart the counter rolled over while the gateway was down for one step.
  const after = new Map([["line.good", { ts: [3000, 4000], values: [4, 10] }]]);

  it("without the state the first step after the restart is unknown", () => {
    const ds = buildDataset(after, cfg, features);

    expect(ds.ts).toEqual([4000]);
    expect(ds.X).toEqual([[6]]);
  });

  it("with the saved state the first reading continues the count, not a reset", () => {
    const state = buildDataset(before, cfg, features).counterState;
    expect(state).toEqual({ "line.good": { ts: 1000, value: 65530 } });

    const ds = buildDataset(after, cfg, features, JSON.parse(JSON.stringify(state)));

    // 65530 at 1000, then 4 at 3000 across 2^16: an increase of 10 over two steps.
    expect(ds.ts).toEqual([2000, 3000, 4000]);
    expect(ds.X).toEqual([[5], [5], [6]]);
    expect(ds.counts.tags["line.good"]).toMatchObject({ reset: 0, rollover: 1 });
    expect(ds.counterState).toEqual({ "line.good": { ts: 4000, value: 10 } });
  });

  it("still reads a real PLC reset during the outage as a reset", () => {
    const ds = buildDataset(after, cfg, features, { "line.good": { ts: 2000, value: 30000 } });

    expect(ds.counts.tags["line.good"]?.reset).toBe(1);
    expect(ds.X).toEqual([[6]]);
  });

  it("ignores a state older than the fill reach", () => {
    const ds = buildDataset(after, cfg, features, { "line.good": { ts: 0, value: 65530 } });

    expect(ds.ts).toEqual([4000]);
    expect(ds.counts.tags["line.good"]?.rollover).toBe(0);
  });
});

describe("inference span", () => {
  const cfg = config({
    preprocessing: [{ tag: "a.x", stuckAfterMs: 5000, outlier: { windowRows: 7, threshold: 4 } }],
    derived: { windows: [4], stats: ["mean"], lags: [6] },
    gridMs: 1000,
    maxFillSteps: 2,
  });

  it("counts the rows back from lags, counter step, fill and cleaning", () => {
    // 1 row + 6 lag + 1 counter + 3 fill + (7 outlier + 5 stuck + 3 margin) + 1.
    expect(inputsRowsNeeded(cfg)).toBe(27);
    expect(inputsRowsNeeded(config({ maxFillSteps: 0 }))).toBe(4);
  });

  it("names the last complete cell as the prediction row", () => {
    expect(inferenceSpan(cfg, 60_500)).toEqual({
      fromTs: 60_000 - 27_000,
      untilTs: 60_000,
      rowTs: 59_000,
    });
  });

  it("gives a row for the last complete cell when inputs are fresh, none when stale", () => {
    const simple = config({ gridMs: 1000, maxFillSteps: 1 });
    const span = inferenceSpan(simple, 10_300);
    const fresh = new Map([
      ["a.x", { ts: [8000, 9100, 10_100], values: [1, 2, 3] }],
      ["a.y", { ts: [8500], values: [7] }],
    ]);
    const ds = buildDataset(fresh, simple, ["a.x", "a.y"], {}, span);

    expect(ds.ts.at(-1)).toBe(span.rowTs);
    expect(ds.X.at(-1)).toEqual([2, 7]);

    fresh.set("a.y", { ts: [7500], values: [7] });
    const stale = buildDataset(fresh, simple, ["a.x", "a.y"], {}, span);
    expect(stale.ts).not.toContain(span.rowTs);
  });
});
