import { describe, expect, it } from "vitest";
import {
  fitScaler,
  scaleRow,
  scaleRows,
  scalerFromJson,
  scalerToJson,
  unscaleValue,
} from "../../src/preprocess/scaler.js";

describe("scaler", () => {
  const rows = [
    [1, 100, 5],
    [2, 200, 5],
    [3, 300, 5],
  ];

  it("gives each column mean 0 and std 1", () => {
    const scaler = fitScaler(rows);
    const scaled = scaleRows(scaler, rows);

    for (const c of [0, 1]) {
      const col = scaled.map((r) => r[c] as number);
      const mean = col.reduce((s, v) => s + v, 0) / col.length;
      const variance = col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length;
      expect(mean).toBeCloseTo(0, 12);
      expect(variance).toBeCloseTo(1, 12);
    }
  });

  it("maps a constant column to 0 rather than NaN", () => {
    const scaler = fitScaler(rows);

    expect(scaler.stds[2]).toBe(1);
    expect(scaleRow(scaler, [2, 200, 5])).toEqual([0, 0, 0]);
  });

  it("inverts the scaling of a value", () => {
    const scaler = fitScaler([[10], [20], [60]]);
    const scaled = scaleRow(scaler, [42])[0] as number;

    expect(unscaleValue(scaler, scaled)).toBeCloseTo(42, 10);
  });

  it("round-trips through JSON", () => {
    const scaler = fitScaler(rows);
    const back = scalerFromJson(scalerToJson(scaler));

    expect(back).toEqual(scaler);
    expect(scaleRow(back, [4, 50, 1])).toEqual(scaleRow(scaler, [4, 50, 1]));
  });

  it("refuses malformed JSON", () => {
    expect(() => scalerFromJson('{"means":[1],"stds":[]}')).toThrow(/equal-length/);
    expect(() => scalerFromJson({ means: [1], stds: [0] })).toThrow(/std <= 0/);
    expect(() => scalerFromJson({ means: ["x"], stds: [1] })).toThrow();
  });

  it("refuses to fit zero rows", () => {
    expect(() => fitScaler([])).toThrow(RangeError);
  });
});
