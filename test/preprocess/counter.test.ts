import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as counter from "../../src/preprocess/counter.js";

const { counterDeltas, loadCounterState, saveCounterState } = counter;

const NaN_ = Number.NaN;

describe("counterDeltas", () => {
  it("gives the increase per cell, unknown for the first", () => {
    const out = counterDeltas([100, 103, 103, 110], { bits: 16 });

    expect(out.values).toEqual([NaN_, 3, 0, 7]);
    expect(out.resets.size).toBe(0);
  });

  it("adds 2^16 across a 16-bit rollover", () => {
    const out = counterDeltas([65530, 65535, 4], { bits: 16 });

    expect(out.values).toEqual([NaN_, 5, 5]);
    expect(out.rollovers).toBe(1);
  });

  it("adds 2^32 across a 32-bit rollover", () => {
    const top = 2 ** 32;
    const out = counterDeltas([top - 10, 5], { bits: 32 });

    expect(out.values).toEqual([NaN_, 15]);
    expect(out.rollovers).toBe(1);
  });

  it("reads a drop that does not start in the top quarter as a reset: step unknown", () => {
    const out = counterDeltas([1000, 3, 8], { bits: 16 });

    expect(out.values).toEqual([NaN_, NaN_, 5]);
    expect([...out.resets]).toEqual([1]);
    expect(out.rollovers).toBe(0);
  });

  it("reads a drop from the top to the middle of the range as a reset, not a rollover", () => {
    const out = counterDeltas([60000, 30000], { bits: 16 });

    expect(out.values).toEqual([NaN_, NaN_]);
    expect(out.resets.size).toBe(1);
  });

  it("tells the width apart: a drop from 65535 to 4 is a reset for a 32-bit counter", () => {
    const out = counterDeltas([65535, 4], { bits: 32 });

    expect(out.resets.size).toBe(1);
  });

  it("leaves a step next to a missing cell unknown without a fill reach", () => {
    const out = counterDeltas([1, NaN_, 3, 4], { bits: 16 });

    expect(out.values).toEqual([NaN_, NaN_, NaN_, 1]);
  });
});

describe("counterDeltas across missed polls", () => {
  it("spreads an increase over the cells it was measured across: no stop, no spike", () => {
    // Readings 0, 10, 30, 40 at 0, 1, 3 and 4 s: the 20 between 1 s and 3 s is 10 a step.
    const out = counterDeltas([0, 10, NaN_, 30, 40], { bits: 16, maxFillSteps: 3 });

    expect(out.values).toEqual([NaN_, 10, 10, 10, 10]);
    expect(out.spread).toBe(1);
  });

  it("spreads a rollover too, and leaves a gap past the fill reach unknown", () => {
    const across = counterDeltas([65530, NaN_, 4], { bits: 16, maxFillSteps: 1 });
    expect(across.values).toEqual([NaN_, 5, 5]);
    expect(across.rollovers).toBe(1);

    const far = counterDeltas([100, NaN_, NaN_, 130, 140], { bits: 16, maxFillSteps: 1 });
    expect(far.values).toEqual([NaN_, NaN_, NaN_, NaN_, 10]);
    expect(far.spread).toBe(0);
  });

  it("puts nothing across a bad reading: the step after it is unknown", () => {
    const blocked = Uint8Array.from([0, 0, 1, 0, 0]);
    const out = counterDeltas([0, 10, NaN_, 30, 40], { bits: 16, maxFillSteps: 3 }, blocked);

    expect(out.values).toEqual([NaN_, 10, NaN_, NaN_, 10]);
  });
});

describe("counterDeltas: a reset in the top quarter is not a rollover", () => {
  /** A 16-bit counter counting `rate` a second for `steps` seconds up to `top`, then `next`. */
  const levels = (top: number, rate: number, steps: number, next: number) => [
    ...Array.from({ length: steps }, (_, i) => top - rate * (steps - 1 - i)),
    next,
  ];

  it("reads 60000 → 0 as a reset when the counter has been counting 10 a second", () => {
    const out = counterDeltas(levels(60_000, 10, 5, 0), { bits: 16 });

    expect(out.resets).toEqual(new Set([5]));
    expect(out.rollovers).toBe(0);
    expect(out.values[5]).toBeNaN();
  });

  it("still reads 65530 → 4 at the same pace as a rollover of 10", () => {
    const out = counterDeltas(levels(65_530, 10, 5, 4), { bits: 16 });

    expect(out.rollovers).toBe(1);
    expect(out.values[5]).toBe(10);
  });

  it("judges by the configured most per second when it is set, both ways", () => {
    const options = { bits: 16, gridMs: 1000, maxIncreasePerSecond: 20 } as const;

    // Without recent steps the quarter rule alone would call this a rollover of 5536.
    expect(counterDeltas([60_000, 0], options).resets.size).toBe(1);
    expect(counterDeltas([65_530, 4], options).rollovers).toBe(1);
    // A rise far beyond it (a preset, a hand-written count) is no increase either.
    expect(counterDeltas([100, 50_000], options).resets.size).toBe(1);
    expect(counterDeltas([100, 130], options).values).toEqual([NaN_, 30]);
  });

  it("with fewer than three recent steps, the quarter rule alone decides", () => {
    expect(counterDeltas([60_000, 0], { bits: 16 }).rollovers).toBe(1);
  });
});

describe("counter state file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-counter-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips through save and load and leaves no temporary file", async () => {
    const path = join(dir, "counters.json");
    const state = { "line.good": { ts: 1000, value: 65535 }, "line.scrap": { ts: 900, value: 2 } };

    await saveCounterState(path, state);
    await saveCounterState(path, { ...state, "line.good": { ts: 2000, value: 3 } });

    const expected = { ...state, "line.good": { ts: 2000, value: 3 } };
    expect(await loadCounterState(path)).toEqual(expected);
    expect(await readdir(dir)).toEqual(["counters.json"]);
    expect(JSON.parse(await readFile(path, "utf8"))["line.scrap"]).toEqual({ ts: 900, value: 2 });
  });

  it("reads a missing file as an empty state", async () => {
    expect(await loadCounterState(join(dir, "none.json"))).toEqual({});
  });

  it("refuses a file that is not a state, naming it", async () => {
    const path = join(dir, "bad.json");
    await writeFile(path, "{not json");
    await expect(loadCounterState(path)).rejects.toThrow(/bad\.json is not JSON/);

    await writeFile(path, JSON.stringify({ "line.good": { ts: "x", value: 1 } }));
    await expect(loadCounterState(path)).rejects.toThrow(/line\.good/);
  });
});
