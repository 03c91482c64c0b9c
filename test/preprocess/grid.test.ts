import { describe, expect, it } from "vitest";
import type { TimeSeries } from "../../src/core/series.js";
import { alignToGrid } from "../../src/preprocess/grid.js";

function series(points: [number, number][]): TimeSeries {
  return { ts: points.map((p) => p[0]), values: points.map((p) => p[1]) };
}

const grid = { gridMs: 1000, maxFillSteps: 2 };

describe("alignToGrid", () => {
  it("puts readings of the same cell on one row, in column order", () => {
    const data = new Map([
      [
        "a",
        series([
          [1000, 1],
          [2100, 2],
        ]),
      ],
      [
        "b",
        series([
          [1500, 10],
          [2900, 20],
        ]),
      ],
    ]);

    const out = alignToGrid(["b", "a"], data, grid);

    expect(out.columns).toEqual(["b", "a"]);
    expect(out.ts).toEqual([1000, 2000]);
    expect(out.rows).toEqual([
      [10, 1],
      [20, 2],
    ]);
    expect(out.filledRows).toBe(0);
    expect(out.droppedRows).toBe(0);
  });

  it("takes the last reading in a cell", () => {
    const data = new Map([
      [
        "a",
        series([
          [1000, 1],
          [1400, 2],
          [1999, 3],
        ]),
      ],
    ]);

    expect(alignToGrid(["a"], data, grid).rows).toEqual([[3]]);
  });

  it("carries a value forward at most maxFillSteps cells", () => {
    const data = new Map([
      [
        "a",
        series([
          [0, 1],
          [1000, 2],
          [2000, 3],
          [3000, 4],
          [4000, 5],
        ]),
      ],
      ["b", series([[0, 10]])],
    ]);

    const out = alignToGrid(["a", "b"], data, grid);

    expect(out.ts).toEqual([0, 1000, 2000]);
    expect(out.rows).toEqual([
      [1, 10],
      [2, 10],
      [3, 10],
    ]);
    expect(out.filledRows).toBe(2);
    expect(out.droppedRows).toBe(2);
  });

  it("drops rows until every tag has a value", () => {
    const data = new Map([
      [
        "a",
        series([
          [0, 1],
          [1000, 2],
          [2000, 3],
        ]),
      ],
      ["b", series([[2000, 30]])],
    ]);

    const out = alignToGrid(["a", "b"], data, grid);

    expect(out.ts).toEqual([2000]);
    expect(out.rows).toEqual([[3, 30]]);
    expect(out.droppedRows).toBe(2);
  });

  it("never fills when maxFillSteps is 0", () => {
    const data = new Map([
      [
        "a",
        series([
          [0, 1],
          [1000, 2],
        ]),
      ],
      ["b", series([[0, 10]])],
    ]);

    const out = alignToGrid(["a", "b"], data, { gridMs: 1000, maxFillSteps: 0 });

    expect(out.rows).toEqual([[1, 10]]);
    expect(out.droppedRows).toBe(1);
  });

  it("skips a long outage without emitting rows inside it", () => {
    const day = 86_400_000;
    const data = new Map([
      [
        "a",
        series([
          [0, 1],
          [day, 2],
        ]),
      ],
      [
        "b",
        series([
          [0, 10],
          [day + 500, 20],
        ]),
      ],
    ]);

    const out = alignToGrid(["a", "b"], data, grid);

    expect(out.ts).toEqual([0, day]);
    expect(out.rows).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it("returns no rows for a tag without data", () => {
    const data = new Map([["a", series([[0, 1]])]]);

    const out = alignToGrid(["a", "missing"], data, grid);

    expect(out.rows).toEqual([]);
    expect(out.droppedRows).toBe(1);
  });

  it("rejects a grid step that is not positive", () => {
    const options = { gridMs: 0, maxFillSteps: 1 };

    expect(() => alignToGrid(["a"], new Map(), options)).toThrow(RangeError);
  });
});
