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
