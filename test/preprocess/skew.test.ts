// Property: for every grid cell, an inference call that fetches only inferenceSpan's short
// span yields exactly the training row for that cell (same X, same y), on noisy data with
// spikes, stuck stretches, implausible values, duplicates, jitter, counter rollovers,
// missed polls, and bad readings (a device down, timeouts).

import { describe, expect, it } from "vitest";
import { type LearningConfig, learningSchema } from "../../src/config/schema.js";
import type { TimeSeries } from "../../src/core/series.js";
import { buildDataset, inferenceSpan } from "../../src/preprocess/dataset.js";

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Readings every periodMs with jitter; `value` sees the index and the generator. */
function polled(
  rnd: () => number,
  spanMs: number,
  periodMs: number,
  value: (i: number) => number,
): TimeSeries {
  const out: TimeSeries = { ts: [], values: [] };
  for (let i = 0, t = 0; t < spanMs; i++, t += periodMs) {
    if (rnd() < 0.04) continue; // a lost poll
    const ts = t + Math.floor(rnd() * periodMs * 0.9);
    out.ts.push(ts);
    out.values.push(value(i));
    if (rnd() < 0.02) {
      out.ts.push(ts); // the same ts stored twice
      out.values.push(value(i) + 1);
    }
  }
  return out;
}

function plant(seed: number, spanMs: number): Map<string, TimeSeries> {
  const rnd = random(seed);
  let good = 65_000;
  return new Map([
    [
      "line.temp",
      polled(rnd, spanMs, 700, (i) => {
        if (rnd() < 0.03) return 900; // implausible
        if (rnd() < 0.05) return 60 + 40 * rnd(); // spike
        return 60 + Math.sin(i / 20) * 3 + rnd();
      }),
    ],
    // Stretches of the same value: the sensor freezes now and then.
    ["line.speed", polled(rnd, spanMs, 1000, (i) => (i % 40 < 12 ? 100 : 95 + rnd() * 10))],
    ["line.vibration", polled(rnd, spanMs, 400, () => rnd() * 2)],
    [
      "line.good",
      polled(rnd, spanMs, 1000, () => {
        if (rnd() < 0.01) good = 50; // a PLC reset
        good = (good + Math.floor(rnd() * 40)) % 65_536;
        return good;
      }),
    ],
  ]);
}

/**
 * The device is down from 150 s to 170 s: each tag's readings there are bad. One more bad
 * reading now and then (a timeout) on the vibration sensor.
 */
function faults(data: Map<string, TimeSeries>, rnd: () => number): Map<string, number[]> {
  const down = (t: number) => t >= 150_000 && t < 170_000;
  const bad = new Map<string, number[]>();
  for (const [tag, s] of data) {
    const marks: number[] = [];
    const kept: TimeSeries = { ts: [], values: [] };
    s.ts.forEach((t, i) => {
      const timeout = tag === "line.vibration" && rnd() < 0.01;
      if (down(t) || timeout) marks.push(t);
      else {
        kept.ts.push(t);
        kept.values.push(s.values[i] as number);
      }
    });
    data.set(tag, kept);
    bad.set(tag, [...new Set(marks)]);
  }
  return bad;
}

function config(fill: "forward" | "linear"): LearningConfig {
  return learningSchema.parse({
    target: "line.efficiency",
    formula: "rate(line.good) * 60 / max(line.speed, 1)",
    counters: [{ tag: "line.good", bits: 16 }],
    preprocessing: [
      { tag: "line.temp", min: 0, max: 200, outlier: { windowRows: 9, threshold: 3 } },
      { tag: "line.speed", stuckAfterMs: 5000, fill },
      { tag: "line.vibration", resample: "max", outlier: { windowRows: 5, action: "drop" } },
    ],
    derived: { windows: [3, 5], stats: ["mean", "std", "min", "max", "slope"], lags: [1, 4] },
    gridMs: 1000,
    maxFillSteps: 2,
  });
}

function slice(series: Map<string, TimeSeries>, fromTs: number, untilTs: number) {
  const out = new Map<string, TimeSeries>();
  for (const [tag, s] of series) {
    const keep = s.ts.map((t, i) => (t >= fromTs && t < untilTs ? i : -1)).filter((i) => i >= 0);
    const ts = keep.map((i) => s.ts[i] as number);
    out.set(tag, { ts, values: keep.map((i) => s.values[i] as number) });
  }
  return out;
}

/** Whether a tag has a raw reading in the cell [fromTs, untilTs). */
function readIn(series: Map<string, TimeSeries>, tag: string, fromTs: number, untilTs: number) {
  return (series.get(tag)?.ts ?? []).some((t) => t >= fromTs && t < untilTs);
}

const features = ["line.temp", "line.speed", "line.vibration", "line.good"];

describe("no train/serve skew", () => {
  it.each([
    [1, "forward"],
    [2, "forward"],
    [3, "linear"],
  ] as const)("seed %i, %s fill: inference rows equal training rows", (seed, fill) => {
    const spanMs = 400_000;
    const cfg = config(fill);
    const data = plant(seed, spanMs);
    const bad = faults(data, random(seed + 100));
    const training = buildDataset(data, cfg, features, {}, { untilTs: spanMs, bad });
    const byTs = new Map(training.ts.map((ts, i) => [ts, i]));
    let compared = 0;
    let missingAtInference = 0;
    let counterNotRead = 0;

    for (let now = 30_500; now <= spanMs; now += 1000) {
      const span = inferenceSpan(cfg, now);
      const recent = slice(data, span.fromTs, span.untilTs);
      const recentBad = new Map(
        [...bad].map(([tag, ts]) => [tag, ts.filter((t) => t >= span.fromTs && t < span.untilTs)]),
      );
      const ds = buildDataset(recent, cfg, features, {}, { ...span, bad: recentBad });
      const i = byTs.get(span.rowTs);
      const last = ds.ts.at(-1) === span.rowTs ? ds.X.length - 1 : undefined;
      if (i === undefined) {
        expect(last, `no training row at ${span.rowTs}`).toBeUndefined();
        continue;
      }
      if (last === undefined) {
        // Only a look-ahead may lack the newest cell: linear fill, or a counter input's
        // increase, spread over a missed poll once the next reading is in.
        const counterRead = readIn(data, "line.good", span.rowTs, span.untilTs);
        expect(fill === "linear" || !counterRead, `row at ${span.rowTs}`).toBe(true);
        if (!counterRead) counterNotRead++;
        missingAtInference++;
        continue;
      }
      expect(ds.X[last], `row at ${span.rowTs}`).toEqual(training.X[i]);
      expect(ds.y[last], `target at ${span.rowTs}`).toEqual(training.y[i]);
      compared++;
    }

    // The data must exercise every cleaning step, or the property proves little.
    const tags = training.counts.tags;
    expect(tags["line.temp"]?.aboveMax).toBeGreaterThan(0);
    expect(tags["line.temp"]?.outlierClipped).toBeGreaterThan(0);
    expect(tags["line.speed"]?.stuck).toBeGreaterThan(0);
    expect(tags["line.temp"]?.duplicate).toBeGreaterThan(0);
    expect(tags["line.good"]?.reset).toBeGreaterThan(0);
    expect(tags["line.good"]?.rollover).toBeGreaterThan(0);
    expect(tags["line.good"]?.filled).toBeGreaterThan(0);
    expect(tags["line.vibration"]?.bad).toBeGreaterThanOrEqual(20);
    expect(training.counts.rows.bad).toBeGreaterThanOrEqual(20);
    expect(compared).toBeGreaterThan(200);
    if (fill === "forward") expect(missingAtInference).toBe(counterNotRead);
  });
});
