// PLC counters (good parts, scrap, energy) only ever count up, so what carries information
// is their increase per grid step. Two things make a counter drop: a rollover at the top of
// its register (the increase is still known) and a reset, e.g. a PLC restart (the increase
// over that step is not). The last reading of each counter is kept in a small file so that
// after a gateway restart the first reading continues from it instead of starting blind.

import { readFile } from "node:fs/promises";
import { replaceFile } from "../core/durable.js";
import type { TimeSeries } from "../core/series.js";

export type CounterBits = 16 | 32 | 64;

/** Last clean reading of each counter tag; plain JSON. */
export type CounterState = Record<string, Saved>;

interface Saved {
  ts: number;
  value: number;
}

export interface CounterDeltas {
  /** Increase per cell; NaN where either end is unknown or the step was a reset. */
  values: number[];
  /** Cells whose step was a reset. */
  resets: Set<number>;
  rollovers: number;
}

/**
 * The increase from the cell before to each cell. A drop from the top quarter of the range
 * to the bottom quarter is a rollover (new + 2^bits − prev); any other drop is a reset and
 * its step is unknown rather than a huge negative number.
 */
export function counterDeltas(levels: readonly number[], bits: CounterBits): CounterDeltas {
  // LIMITATION: a 64-bit count above 2^53 is not exact in a double; plant counters stay far
  // below that, but one that does not would need the readings as bigint end to end.
  const range = 2 ** bits;
  const values = new Array<number>(levels.length).fill(Number.NaN);
  const resets = new Set<number>();
  let rollovers = 0;
  for (let k = 1; k < levels.length; k++) {
    const prev = levels[k - 1] as number;
    const cur = levels[k] as number;
    if (Number.isNaN(prev) || Number.isNaN(cur)) continue;
    if (cur >= prev) {
      values[k] = cur - prev;
    } else if (prev >= 0.75 * range && cur < 0.25 * range) {
      values[k] = cur + range - prev;
      rollovers++;
    } else {
      resets.add(k);
    }
  }
  return { values, resets, rollovers };
}

/** Each counter's last clean reading, or its state as handed in when it had none. */
export function counterStateAfter(
  clean: ReadonlyMap<string, TimeSeries>,
  counters: Iterable<string>,
  previous: CounterState,
): CounterState {
  const state: CounterState = {};
  for (const tag of counters) {
    const s = clean.get(tag);
    const last = s ? s.ts.length - 1 : -1;
    if (s && last >= 0) state[tag] = { ts: s.ts[last] as number, value: s.values[last] as number };
    else if (Object.hasOwn(previous, tag)) state[tag] = { ...(previous[tag] as Saved) };
  }
  return state;
}

/**
 * After a restart, the saved last reading of a counter goes in front of its first new one,
 * so the first step is an increase (or a rollover) rather than unknown. It is used only
 * within the fill reach of the first reading: across a longer gap the increase cannot be
 * put on one grid step anyway.
 */
export function seedFromState(
  clean: Map<string, TimeSeries>,
  counters: Iterable<string>,
  state: CounterState,
  gridMs: number,
  maxFillSteps: number,
): void {
  for (const tag of counters) {
    const saved = Object.hasOwn(state, tag) ? state[tag] : undefined;
    const s = clean.get(tag);
    if (!saved || !s || s.ts.length === 0) continue;
    const first = s.ts[0] as number;
    const gapCells = Math.floor(first / gridMs) - Math.floor(saved.ts / gridMs);
    if (saved.ts >= first || gapCells > maxFillSteps + 1) continue;
    clean.set(tag, { ts: [saved.ts, ...s.ts], values: [saved.value, ...s.values] });
  }
}

/** Replaces the saved state whole, durably. */
export async function saveCounterState(path: string, state: CounterState): Promise<void> {
  await replaceFile(path, `${JSON.stringify(state)}\n`);
}

/**
 * Reads a saved state; a missing file is an empty state (first start). A file that is not
 * a state throws naming the path: deleting it costs one unknown step per counter.
 */
export async function loadCounterState(path: string): Promise<CounterState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  const bad = (why: string) =>
    new Error(`counter state ${path} ${why}; delete it to start the counters afresh`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw bad("is not JSON");
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw bad("is not an object");

  const state: CounterState = {};
  for (const [tag, entry] of Object.entries(data)) {
    const { ts, value } = (entry ?? {}) as { ts?: unknown; value?: unknown };
    if (!Number.isFinite(ts) || !Number.isFinite(value)) {
      throw bad(`has no finite ts and value for ${tag}`);
    }
    state[tag] = { ts: ts as number, value: value as number };
  }
  return state;
}
