import { describe, expect, it } from "vitest";
import { degradationAt, SimulatedLine } from "../../src/simulator/line.js";
import { encodeRegisters } from "../../src/simulator/server.js";

const plan = {
  stepMs: 1000,
  firstEpisodeAfterMs: 60_000,
  episodeEveryMs: 200_000,
  episodeDurationMs: 50_000,
};

function run(seed: number, steps: number) {
  const line = new SimulatedLine(seed, plan);
  return Array.from({ length: steps }, () => ({ ...line.advance() }));
}

describe("simulated line", () => {
  it("is deterministic for a seed", () => {
    expect(run(3, 50)).toEqual(run(3, 50));
    expect(run(3, 50)).not.toEqual(run(4, 50));
  });

  it("schedules episodes: ramp up, hold, ramp down, repeat", () => {
    expect(degradationAt(59_999, plan)).toBe(0);
    expect(degradationAt(70_000, plan)).toBeCloseTo(0.5);
    expect(degradationAt(85_000, plan)).toBe(1);
    expect(degradationAt(110_000, plan)).toBe(0);
    expect(degradationAt(285_000, plan)).toBe(1);
  });

  it("carries the degradation in its inputs, so efficiency falls with them", () => {
    const states = run(11, 100);
    const before = states.slice(20, 59);
    const peak = states.slice(80, 95);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const eff = (s: typeof states) => mean(s.map((x) => x.efficiency));
    expect(mean(peak.map((s) => s.vibration))).toBeGreaterThan(
      mean(before.map((s) => s.vibration)) + 4,
    );
    expect(mean(peak.map((s) => s.temperature))).toBeGreaterThan(
      mean(before.map((s) => s.temperature)) + 10,
    );
    expect(eff(before) - eff(peak)).toBeGreaterThan(20);
    // The parts counter never goes backwards.
    states
      .slice(1)
      .forEach((s, i) => expect(s.goodParts).toBeGreaterThanOrEqual(states[i]!.goodParts));
  });

  it("encodes its state as big-endian registers", () => {
    const s = run(1, 1)[0]!;
    const regs = encodeRegisters(s);
    const buf = Buffer.alloc(regs.length * 2);
    regs.forEach((r, i) => buf.writeUInt16BE(r, i * 2));
    expect(buf.readFloatBE(0)).toBe(Math.fround(s.temperature));
    expect(buf.readUInt32BE(12 * 2)).toBe(s.goodParts);
  });
});
