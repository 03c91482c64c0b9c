import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as counter from "../../src/preprocess/counter.js";

const { counterDeltas, loadCounterState, saveCounterState } = counter;

const NaN_ = Number.NaN;

describe("counterDeltas", () => {
  it("gives the increase per cell, unknown for the first", () => {
    const out = counterDeltas([100, 103, 103, 110], 16);

    expect(out.values).toEqual([NaN_, 3, 0, 7]);
    expect(out.resets.size).toBe(0);
  });

  it("adds 2^16 across a 16-bit rollover", () => {
    const out = counterDeltas([65530, 65535, 4], 16);

    expect(out.values).toEqual([NaN_, 5, 5]);
    expect(out.rollovers).toBe(1);
  });

  it("adds 2^32 across a 32-bit rollover", () => {
    const top = 2 ** 32;
    const out = counterDeltas([top - 10, 5], 32);

    expect(out.values).toEqual([NaN_, 15]);
    expect(out.rollovers).toBe(1);
  });

  it("reads a drop that does not start in the top quarter as a reset: step unknown", () => {
    const out = counterDeltas([1000, 3, 8], 16);

    expect(out.values).toEqual([NaN_, NaN_, 5]);
    expect([...out.resets]).toEqual([1]);
    expect(out.rollovers).toBe(0);
  });

  it("reads a drop from the top to the middle of the range as a reset, not a rollover", () => {
    const out = counterDeltas([60000, 30000], 16);

    expect(out.values).toEqual([NaN_, NaN_]);
    expect(out.resets.size).toBe(1);
  });

  it("tells the width apart: a drop from 65535 to 4 is a reset for a 32-bit counter", () => {
    const out = counterDeltas([65535, 4], 32);

    expect(out.resets.size).toBe(1);
  });

  it("leaves a step next to a missing cell unknown", () => {
    const out = counterDeltas([1, NaN_, 3, 4], 16);

    expect(out.values).toEqual([NaN_, NaN_, NaN_, 1]);
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
