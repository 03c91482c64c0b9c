// PLC counters (good parts, scrap, energy) only ever count up, so what carries information
// is their increase per grid step. Two things make a counter drop: a rollover at the top of
// its register (the increase is still known) and a reset, e.g. a PLC restart (the increase
// over that step is not); the increase a drop would imply tells them apart. The last
// reading of each counter is kept in a small file so that after a gateway restart the first
// reading continues from it instead of starting blind.

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
  /** The cell each rollover step ended in. */
  rolloverCells: number[];
  /** Cells given a share of an increase measured across them (missed polls). */
  spread: number;
}

export interface CounterOptions {
  bits: CounterBits;
  /** Cells without a reading an increase may be spread over; 0: adjacent cells only. */
  maxFillSteps?: number;
  gridMs?: number;
  /** The most the counter can rise per second; a larger increase is read as a reset. */
  maxIncreasePerSecond?: number;
}

/**
 * Cells back from a step's start whose increases tell what rate is plausible for it, and
 * how many of them are needed to judge; see `counterDeltas`.
 */
export const RATE_WINDOW_CELLS = 10;
const MIN_RATE_STEPS = 3;
/** A rollover may imply at most this many times the fastest recent rate. */
const ROLLOVER_RATE_FACTOR = 4;

/**
 * The increase into each cell, taken between the real readings (the cell values that are
 * not NaN): an increase across cells without a reading is spread evenly over them, so a
 * missed poll is neither a stop nor a spike. A gap longer than maxFillSteps cells, or one
 * a bad reading (`blocked`) falls in, leaves its cells unknown.
 *
 * A drop is a rollover (new + 2^bits − prev) only when it goes from the top quarter of the
 * range to the bottom quarter and the increase it implies is plausible: within
 * maxIncreasePerSecond when that is set, else within ROLLOVER_RATE_FACTOR times the fastest
 * of the last RATE_WINDOW_CELLS cells' increases (when at least MIN_RATE_STEPS are known).
 * Any other drop is a reset (a PLC restart): its step is unknown rather than a huge number.
 */
export function counterDeltas(
  levels: readonly number[],
  options: CounterOptions,
  blocked?: Uint8Array,
): CounterDeltas {
  const { maxFillSteps = 0 } = options;
  const out: CounterDeltas = {
    values: new Array<number>(levels.length).fill(Number.NaN),
    resets: new Set<number>(),
    rollovers: 0,
    rolloverCells: [],
    spread: 0,
  };
  const recent: RecentSteps = [];
  let prev = -1;
  for (let k = 0; k < levels.length; k++) {
    if (blocked?.[k]) prev = -1;
    if (Number.isNaN(levels[k])) continue;
    const span = k - prev;
    if (prev >= 0 && span - 1 <= maxFillSteps) {
      const step = classify(levels, prev, k, recent, options);
      for (let j = prev + 1; j <= k; j++) {
        if (step.kind === "reset") out.resets.add(j);
        else out.values[j] = step.increase / span;
      }
      if (step.kind === "rollover") {
        out.rollovers++;
        out.rolloverCells.push(k);
      }
      if (step.kind !== "reset") out.spread += span - 1;
      if (step.kind === "increase") recent.push({ cell: k, rate: step.increase / span });
    }
    prev = k;
  }
  return out;
}

type RecentSteps = Array<{ cell: number; rate: number }>;
type Step = { kind: "increase" | "rollover"; increase: number } | { kind: "reset" };

/** The step between the readings of cells `from` and `to`. */
function classify(
  levels: readonly number[],
  from: number,
  to: number,
  recent: RecentSteps,
  options: CounterOptions,
): Step {
  const prev = levels[from] as number;
  const cur = levels[to] as number;
  const span = to - from;
  // LIMITATION: a 64-bit count above 2^53 is not exact in a double; plant counters stay far
  // below that, but one that does not would need the readings as bigint end to end.
  const range = 2 ** options.bits;
  // The readings may lie up to one grid step further apart than their cells: that slack.
  const seconds = ((span + 1) * (options.gridMs ?? 1000)) / 1000;
  const max = options.maxIncreasePerSecond;
  const plausible = (increase: number) => max === undefined || increase <= max * seconds;
  if (cur >= prev) {
    const increase = cur - prev;
    return plausible(increase) ? { kind: "increase", increase } : { kind: "reset" };
  }
  const increase = cur + range - prev;
  const quarters = prev >= 0.75 * range && cur < 0.25 * range;
  if (!quarters || !plausible(increase)) return { kind: "reset" };
  if (max === undefined && !withinRecentRate(increase, from, span, recent)) {
    return { kind: "reset" };
  }
  return { kind: "rollover", increase };
}

/**
 * Whether a rollover's increase fits the counter's recent pace. Only plain increases count
 * as recent steps, so the judgement reaches back a bounded number of cells (inference
 * fetches them; see inputsRowsNeeded) and never depends on an earlier judgement.
 */
function withinRecentRate(
  increase: number,
  start: number,
  span: number,
  recent: RecentSteps,
): boolean {
  const from = start - RATE_WINDOW_CELLS;
  let steps = 0;
  let fastest = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const step = recent[i] as RecentSteps[number];
    if (step.cell <= from) break;
    steps++;
    fastest = Math.max(fastest, step.rate);
  }
  // LIMITATION: with fewer known steps (just after a start) only the quarter rule decides.
  if (steps < MIN_RATE_STEPS) return true;
  return increase <= ROLLOVER_RATE_FACTOR * fastest * span;
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
