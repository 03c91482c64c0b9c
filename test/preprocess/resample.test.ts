import { describe, expect, it } from "vitest";
import type { TimeSeries } from "../../src/core/series.js";
import {
  fillForward,
  fillLinear,
  type ResampleMode,
  resampleSeries,
} from "../../src/preprocess/resample.js";

const NaN_ = Number.NaN;

function series(points: [number, number][]): TimeSeries {
  return { ts: points.map((p) => p[0]), values: points.map((p) => p[1]) };
}

const base = { gridMs: 1000, firstCell: 0, fill: "forward" as const, maxFillSteps: 0 };

describe("resampleSeries: the readings of one cell", () => {
  const data = series([
    [500, 9],
    [1000, 2],
    [1500, 4],
    [1999, 3],
  ]);
  const cases: [ResampleMode, number][] = [
    ["last", 3],
    ["mean", 3],
    ["min", 2],
    ["max", 4],
  ];

  it.each(cases)("%s gives %d for readings 2, 4, 3", (resample, expected) => {
    const out = resampleSeries(data, { ...base, cells: 2, resample });

    expect(out.values).toEqual([9, expected]);
  });

  it("ignores readings outside the cells and leaves empty cells NaN", () => {
    const out = resampleSeries(
      series([
        [-1, 1],
        [2500, 2],
        [9000, 3],
      ]),
      {
        ...base,
        cells: 3,
        resample: "last",
      },
    );

    expect(out.values).toEqual([NaN_, NaN_, 2]);
    expect(out.filled).toBe(0);
  });

  it("counts cells from firstCell", () => {
    const out = resampleSeries(series([[10_500, 7]]), {
      ...base,
      firstCell: 10,
      cells: 2,
      resample: "last",
    });

    expect(out.values).toEqual([7, NaN_]);
  });
});

describe("fill", () => {
  it("forward carries a value at most maxFillSteps cells", () => {
    const values = [1, NaN_, NaN_, NaN_, 5, NaN_];
    const filled = fillForward(values, 2);

    expect(values).toEqual([1, 1, 1, NaN_, 5, 5]);
    expect(filled).toBe(3);
  });

  it("forward never fills before the first known cell or with maxFillSteps 0", () => {
    const values = [NaN_, 2, NaN_];

    expect(fillForward(values, 0)).toBe(0);
    expect(values).toEqual([NaN_, 2, NaN_]);
  });

  it("linear interpolates a gap of at most maxFillSteps cells", () => {
    const values = [0, NaN_, NaN_, 6];
    const filled = fillLinear(values, 2);

    expect(values).toEqual([0, 2, 4, 6]);
    expect(filled).toBe(2);
  });

  it("linear leaves a longer gap wholly missing, not partly filled", () => {
    const values = [0, NaN_, NaN_, NaN_, 8];

    expect(fillLinear(values, 2)).toBe(0);
    expect(values).toEqual([0, NaN_, NaN_, NaN_, 8]);
  });

  it("linear leaves a gap at either end missing (no neighbour on one side)", () => {
    const values = [NaN_, 1, 3, NaN_];

    expect(fillLinear(values, 3)).toBe(0);
    expect(values).toEqual([NaN_, 1, 3, NaN_]);
  });

  it("forward and linear reach the same number of cells", () => {
    const forward = [1, NaN_, NaN_, NaN_, 5];
    const linear = [...forward];

    expect(fillForward(forward, 3)).toBe(3);
    expect(fillLinear(linear, 3)).toBe(3);
    expect(linear).toEqual([1, 2, 3, 4, 5]);
  });

  it("neither fill crosses a blocked cell (one a bad reading ended)", () => {
    const blocked = Uint8Array.from([0, 0, 1, 0, 0, 0]);
    const forward = [1, NaN_, NaN_, NaN_, 5, NaN_];
    const linear = [...forward];

    expect(fillForward(forward, 3, blocked)).toBe(2);
    expect(forward).toEqual([1, 1, NaN_, NaN_, 5, 5]);
    expect(fillLinear(linear, 3, blocked)).toBe(0);
    expect(linear).toEqual([1, NaN_, NaN_, NaN_, 5, NaN_]);
  });

  it("a bad reading after a cell's good ones leaves the cell unknown", () => {
    const out = resampleSeries(
      series([
        [0, 1],
        [1200, 2],
        [3100, 4],
      ]),
      { ...base, cells: 4, resample: "last", maxFillSteps: 3, bad: [1500] },
    );

    expect(out.values).toEqual([1, NaN_, NaN_, 4]);
    expect([...out.blocked]).toEqual([0, 1, 0, 0]);
  });

  it("resampleSeries applies the fill and reports the cells filled", () => {
    const out = resampleSeries(
      series([
        [0, 0],
        [3000, 3],
      ]),
      {
        ...base,
        cells: 4,
        resample: "last",
        fill: "linear",
        maxFillSteps: 2,
      },
    );

    expect(out.values).toEqual([0, 1, 2, 3]);
    expect(out.filled).toBe(2);
  });
});
