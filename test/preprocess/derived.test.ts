import { describe, expect, it } from "vitest";
import { derivedColumns, derivedLookbackRows, windowStat } from "../../src/preprocess/derived.js";

const NaN_ = Number.NaN;
const tag = "line.vibration";

function column(name: string, columns: ReturnType<typeof derivedColumns>): number[] {
  const found = columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found.values;
}

describe("derivedColumns", () => {
  const values = [1, 2, 4, 7, 11];
  const all = derivedColumns(tag, values, {
    windows: [3],
    stats: ["mean", "std", "min", "max", "slope"],
    lags: [1, 2],
  });

  it("names the columns tag:statW and tag:lagN, windows first", () => {
    expect(all.map((c) => c.name)).toEqual([
      `${tag}:mean3`,
      `${tag}:std3`,
      `${tag}:min3`,
      `${tag}:max3`,
      `${tag}:slope3`,
      `${tag}:lag1`,
      `${tag}:lag2`,
    ]);
  });

  it("computes the rolling mean, min and max over the last w rows (by hand)", () => {
    expect(column(`${tag}:mean3`, all)).toEqual([NaN_, NaN_, 7 / 3, 13 / 3, 22 / 3]);
    expect(column(`${tag}:min3`, all)).toEqual([NaN_, NaN_, 1, 2, 4]);
    expect(column(`${tag}:max3`, all)).toEqual([NaN_, NaN_, 4, 7, 11]);
  });

  it("computes the population std (by hand: [1,2,4] → sqrt(14/9))", () => {
    const std = column(`${tag}:std3`, all);

    expect(std[2]).toBeCloseTo(Math.sqrt(14 / 9), 12);
    expect(std[3]).toBeCloseTo(
      Math.sqrt(((2 - 13 / 3) ** 2 + (4 - 13 / 3) ** 2 + (7 - 13 / 3) ** 2) / 3),
      12,
    );
  });

  it("computes the least-squares slope per grid step", () => {
    // [1,2,4]: sum((x-1)(y-7/3)) / sum((x-1)^2) = 3 / 2; [2,4,7]: 2.5; [4,7,11]: 3.5.
    const slope = column(`${tag}:slope3`, all);

    expect(slope[2]).toBeCloseTo(1.5, 12);
    expect(slope[3]).toBeCloseTo(2.5, 12);
    expect(slope[4]).toBeCloseTo(3.5, 12);
    expect(windowStat([5, 5, 5, 5], "slope")).toBe(0);
  });

  it("gives lagged values", () => {
    expect(column(`${tag}:lag1`, all)).toEqual([NaN_, 1, 2, 4, 7]);
    expect(column(`${tag}:lag2`, all)).toEqual([NaN_, NaN_, 1, 2, 4]);
  });

  it("gives NaN for a window or lag that reaches a missing row", () => {
    const out = derivedColumns(tag, [1, NaN_, 3, 4, 5], {
      windows: [2],
      stats: ["mean"],
      lags: [2],
    });

    expect(column(`${tag}:mean2`, out)).toEqual([NaN_, NaN_, NaN_, 3.5, 4.5]);
    expect(column(`${tag}:lag2`, out)).toEqual([NaN_, NaN_, 1, NaN_, 3]);
  });
});

describe("derivedLookbackRows", () => {
  it("is the longest window minus one or the longest lag", () => {
    expect(derivedLookbackRows({ windows: [5, 10], stats: ["mean"], lags: [3] })).toBe(9);
    expect(derivedLookbackRows({ windows: [5], stats: ["mean"], lags: [12] })).toBe(12);
    expect(derivedLookbackRows({ windows: [50], stats: [], lags: [] })).toBe(0);
  });
});
