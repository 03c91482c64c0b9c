import { describe, expect, it } from "vitest";
import { alarmRows, alarmRule, eventScore, scoreEvents } from "../../src/bench/learning-events.js";
import { fitOls, predictLinear, quantile, solveCholesky } from "../../src/bench/learning-math.js";

describe("OLS in closed form", () => {
  it("solves a small positive-definite system", () => {
    const w = solveCholesky(
      [
        [4, 2],
        [2, 3],
      ],
      [10, 8],
    );
    expect(w[0]).toBeCloseTo(1.75, 12);
    expect(w[1]).toBeCloseTo(1.5, 12);
  });

  it("recovers an exact linear relation with a large offset column", () => {
    const x = Array.from({ length: 50 }, (_, i) => [1013 + Math.sin(i), (i * 7) % 11, i / 3]);
    const y = x.map(([a, b, c]) => 0.5 * a! - 2 * b! + 3 * c! + 7);

    const fit = fitOls(x, y);

    expect(fit.weights[0]).toBeCloseTo(0.5, 8);
    expect(fit.weights[1]).toBeCloseTo(-2, 8);
    expect(fit.weights[2]).toBeCloseTo(3, 8);
    expect(predictLinear(fit, [1013, 1, 1])).toBeCloseTo(0.5 * 1013 - 2 + 3 + 7, 6);
  });

  it("interpolates quantiles", () => {
    expect(quantile([3, 1, 2, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.99)).toBe(5);
  });
});

describe("event scoring", () => {
  const seconds = Array.from({ length: 20 }, (_, i) => i);
  const anomaly = seconds.map((s) => (s >= 8 && s < 14 ? 1 : 0));
  const changepoint = seconds.map((s) => (s === 8 ? 1 : 0));

  it("raises through ThresholdRule's debounce and scores events, not rows", () => {
    // A 2-sample spike (too short for a 3 s debounce) and a long excursion from second 9.
    const signal = seconds.map((s) => (s === 2 || s === 3 || (s >= 9 && s < 16) ? 10 : 0));
    const alarm = alarmRows(signal, seconds, [alarmRule("residual", { above: 5 })]);

    const counts = scoreEvents({ anomaly, changepoint, seconds }, alarm);

    expect(alarm.slice(0, 8).some(Boolean)).toBe(false);
    expect(alarm[12]).toBe(true); // held 3 s from second 9
    expect(counts).toMatchObject({ alarmEvents: 1, truePositives: 1, segments: 1, detected: 1 });
    expect(counts.delays).toEqual([4]);
    expect(eventScore(counts)).toEqual({ precision: 1, recall: 1, f1: 1 });
  });

  it("counts an alarm outside every segment as a false positive and a missed segment", () => {
    const alarm = seconds.map((s) => s < 5);

    const score = eventScore(scoreEvents({ anomaly, changepoint, seconds }, alarm));

    expect(score).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it("scores an alarm on from the first row as no detection, even across a segment", () => {
    const alarm = seconds.map(() => true);

    const counts = scoreEvents({ anomaly, changepoint, seconds }, alarm);

    expect(counts).toMatchObject({ alarmEvents: 1, onFromStart: 1, truePositives: 0 });
    expect(counts).toMatchObject({ detected: 0, delays: [] });
    expect(eventScore(counts)).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it("counts an alarm raised as soon as the debounce allows as on from the start", () => {
    const high = seconds.map(() => 10);
    const alarm = alarmRows(high, seconds, [alarmRule("residual", { above: 5 })]);

    const counts = scoreEvents({ anomaly, changepoint, seconds }, alarm);

    expect(alarm.indexOf(true)).toBe(3);
    expect(counts).toMatchObject({ alarmEvents: 1, onFromStart: 1, detected: 0 });
  });

  it("still credits a later alarm event with the segment it overlaps", () => {
    // On at the start until second 3, then again from second 10.
    const alarm = seconds.map((s) => s < 3 || s >= 10);

    const counts = scoreEvents({ anomaly, changepoint, seconds }, alarm);

    expect(counts).toMatchObject({ alarmEvents: 2, onFromStart: 1, truePositives: 1 });
    expect(counts.delays).toEqual([2]);
    expect(eventScore(counts)).toMatchObject({ precision: 0.5, recall: 1 });
  });
});
