// Each tag's column on the grid, from its clean readings: the cell values, filled as
// configured and stopped by bad readings, and for a counter its increase per cell. Part of
// buildDataset (dataset.ts), which assembles the columns into rows.

import type { LearningConfig } from "../config/schema.js";
import type { TimeSeries } from "../core/series.js";
import { type CleaningCounts, emptyCleaningCounts } from "./clean.js";
import { type CounterOptions, counterDeltas } from "./counter.js";
import type { Formula } from "./formula.js";
import { type Cells, cellValues, fillCells } from "./resample.js";

export interface TagCounts extends CleaningCounts {
  /** Cells given a value by forward or linear fill, or a share of a counter's increase. */
  filled: number;
  /** Cells left unknown from a bad reading (device down, timeout) to the next good one. */
  bad: number;
  /** Counter steps across a rollover (the increase is kept). */
  rollover: number;
  /** Counter steps that were a reset (the increase is unknown). */
  reset: number;
}

export function emptyTagCounts(): TagCounts {
  return { ...emptyCleaningCounts(), filled: 0, bad: 0, rollover: 0, reset: 0 };
}

/**
 * Declared counters with their options; a tag read through rate() or delta() that is not
 * declared is treated as a counter of the schema's default width (32 bits).
 */
export function counterOptions(config: LearningConfig, formula: Formula | undefined) {
  const { gridMs, maxFillSteps } = config;
  const out = new Map<string, CounterOptions>();
  for (const c of config.counters) {
    const { bits, maxIncreasePerSecond } = c;
    out.set(c.tag, { bits, gridMs, maxFillSteps, maxIncreasePerSecond });
  }
  for (const tag of formula?.changeTags ?? []) {
    if (!out.has(tag)) out.set(tag, { bits: 32, gridMs, maxFillSteps });
  }
  return out;
}

export interface CellRange {
  firstCell: number;
  cells: number;
  /** Index of the first cell whose fills, faults and counter steps are counted. */
  countFrom: number;
}

export interface TagColumns {
  /** Per cell: the tag's value as a row sees it (a counter's: its increase). */
  values: Map<string, number[]>;
  /** Per cell: increase over the step, for counters and the formula's rate()/delta(). */
  deltas: Map<string, number[]>;
  /** Cells whose counter step was a reset, per tag. */
  resets: Map<string, Set<number>>;
  /** Cells unknown from a bad reading to the next good one, per tag. */
  faulted: Map<string, Uint8Array>;
}

export function tagColumns(
  clean: ReadonlyMap<string, TimeSeries>,
  config: LearningConfig,
  counters: ReadonlyMap<string, CounterOptions>,
  range: CellRange,
  counts: Record<string, TagCounts>,
  bad: ReadonlyMap<string, readonly number[]> | undefined,
): TagColumns {
  const out: TagColumns = {
    values: new Map(),
    deltas: new Map(),
    resets: new Map(),
    faulted: new Map(),
  };
  const declared = new Set(config.counters.map((c) => c.tag));
  for (const [tag, s] of clean) {
    const entry = config.preprocessing.find((p) => p.tag === tag);
    const tagCounts = counts[tag] as TagCounts;
    const resample = entry?.resample ?? "last";
    const cells = cellValues(s, { gridMs: config.gridMs, ...range, resample, bad: bad?.get(tag) });
    const counted = (k: number) => k >= range.countFrom;
    const faulted = faultedCells(cells);
    tagCounts.bad += faulted.filter((f, k) => f && counted(k)).length;
    out.faulted.set(tag, faulted);

    const options = counters.get(tag);
    if (options !== undefined) {
      const deltas = counterDeltas(cells.values, options, cells.blocked);
      tagCounts.rollover += deltas.rolloverCells.filter(counted).length;
      tagCounts.reset += [...deltas.resets].filter(counted).length;
      out.deltas.set(tag, deltas.values);
      out.resets.set(tag, deltas.resets);
      // A declared counter is seen by rows as its increase, spread over missed polls.
      if (declared.has(tag)) {
        tagCounts.filled += newlyKnown(cells.values, deltas.values, range.countFrom);
        out.values.set(tag, deltas.values);
        continue;
      }
    }
    // One only read through rate() or delta() keeps its level for plain references.
    const levels = [...cells.values];
    fillCells(levels, cells.blocked, entry?.fill ?? "forward", config.maxFillSteps);
    tagCounts.filled += newlyKnown(cells.values, levels, range.countFrom);
    out.values.set(tag, levels);
  }
  return out;
}

/** Cells from `from` on without a reading of their own that were given a value. */
function newlyKnown(read: readonly number[], given: readonly number[], from: number): number {
  let n = 0;
  for (let k = from; k < read.length; k++) {
    if (Number.isNaN(read[k]) && !Number.isNaN(given[k])) n++;
  }
  return n;
}

/** 1 from a cell a bad reading ended up to the tag's next cell with a good reading. */
function faultedCells(cells: Cells): Uint8Array {
  const out = new Uint8Array(cells.values.length);
  let down = false;
  for (let k = 0; k < out.length; k++) {
    if (cells.blocked[k]) down = true;
    else if (!Number.isNaN(cells.values[k])) down = false;
    if (down) out[k] = 1;
  }
  return out;
}
