import { describe, expect, it } from "vitest";
import { ThresholdRule, worst } from "../../src/alerts/rule.js";
import { ruleSchema } from "../../src/config/schema.js";

function rule(extra: Record<string, unknown> = {}) {
  return new ThresholdRule(
    ruleSchema.parse({
      name: "eff",
      below: { warning: 80, alarm: 70 },
      hysteresis: 2,
      debounceMs: 1000,
      ...extra,
    }),
  );
}

/** Feeds values one per 100 ms and returns the state changes with their times. */
function run(r: ThresholdRule, values: number[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  values.forEach((v, i) => {
    const s = r.update(v, i * 100);
    if (s) out.push([i * 100, s]);
  });
  return out;
}

describe("threshold rule", () => {
  it("raises only after the debounce holds", () => {
    const r = rule();
    const changes = run(r, [90, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75]);
    // From unknown, too, a state must hold for the debounce before it is reported.
    expect(changes).toEqual([[1100, "warning"]]);
  });

  it("ignores dips shorter than the debounce", () => {
    const r = rule();
    const values = [90, 60, 60, 60, 90, 60, 60, ...Array(11).fill(90)];
    expect(run(r, values)).toEqual([[1700, "ok"]]);
  });

  it("clears only past the level plus hysteresis", () => {
    const r = rule({ debounceMs: 0 });
    expect(run(r, [90, 65, 71, 71.9, 72.5, 80.5, 81.9, 82.1])).toEqual([
      [0, "ok"],
      [100, "alarm"],
      [400, "warning"],
      [700, "ok"],
    ]);
  });

  it("goes unknown at once when the signal is lost", () => {
    const r = rule({ debounceMs: 0 });
    r.update(60, 0);
    expect(r.update(undefined, 100)).toBe("unknown");
    expect(r.update(Number.NaN, 200)).toBeUndefined();
  });

  it("raises the warning while the signal jitters around the alarm level", () => {
    const r = rule();
    // Below the warning level all along, never below the alarm level for a whole debounce.
    const values = Array.from({ length: 100 }, (_, i) => (i % 2 ? 71 : 69));
    expect(run(r, values)).toEqual([[1000, "warning"]]);
    expect(r.state).toBe("warning");
  });

  it("raises the alarm once below it for the debounce, though warning came first", () => {
    const r = rule();
    const changes = run(r, [...Array(15).fill(75), ...Array(15).fill(60)]);
    expect(changes).toEqual([
      [1000, "warning"],
      [2500, "alarm"],
    ]);
  });

  it("holds an alarm through a missing value shorter than the debounce", () => {
    const r = rule();
    run(r, Array(12).fill(60));
    expect(r.state).toBe("alarm");
    expect(r.update(undefined, 1300)).toBeUndefined();
    expect(r.update(60, 1400)).toBeUndefined();
    expect(r.state).toBe("alarm");
    // Lost for a whole debounce: unknown, and the last severity stays on record.
    expect(r.update(undefined, 1500)).toBeUndefined();
    expect(r.update(undefined, 2500)).toBe("unknown");
    expect(r.lastKnown).toBe("alarm");
  });

  it("lowers an alarm only after the signal is off it for the debounce", () => {
    const r = rule({ hysteresis: 0 });
    run(r, Array(12).fill(60));
    const back = [75, 75, 75, 75, 60, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75, 75];
    const changes: Array<[number, string]> = [];
    back.forEach((v, i) => {
      const s = r.update(v, 2000 + i * 100);
      if (s) changes.push([2000 + i * 100, s]);
    });
    expect(changes).toEqual([[3500, "warning"]]);
  });

  it("mirrors for above", () => {
    const r = new ThresholdRule(
      ruleSchema.parse({ name: "t", signal: "a.b", above: { alarm: 100 }, debounceMs: 0 }),
    );
    expect(run(r, [50, 101, 99])).toEqual([
      [0, "ok"],
      [100, "alarm"],
      [200, "ok"],
    ]);
  });

  it("takes the worst known state", () => {
    expect(worst(["ok", "unknown", "warning"])).toBe("warning");
    expect(worst(["unknown", "unknown"])).toBe("unknown");
    expect(worst(["alarm", "ok"])).toBe("alarm");
  });
});
