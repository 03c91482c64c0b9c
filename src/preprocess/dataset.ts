// The one way readings become model rows, for training and for inference alike, so the
// model is never fed differently from how it was trained (no train/serve skew).
//
// Public API (stable; src/model/learner.ts builds on it):
//
//   datasetTags(config, features) → string[]
//     Tags to fetch: the features, the target (or the formula's tags), the counters.
//   buildDataset(series, config, features, counterState?, { untilTs, bad, countFromTs }?)
//     Per tag: clean (clean.ts), resample onto the grid and fill (resample.ts); counters
//     become increases per grid step between their real readings (counter.ts); then the
//     feature columns, the derived columns (derived.ts) and the target, given or computed
//     by `formula` (formula.ts). X has one row per grid cell whose inputs are all known; y
//     is undefined where the target is not. Only readings before the cell holding `untilTs`
//     are used, so that the newest row is a complete cell. `bad` holds each tag's bad
//     readings: from one until the next good reading the tag is unknown, never filled.
//     Every value left out is counted in `counts` (from countFromTs on, when given, so a
//     caller building in slices with a look-back counts each value once).
//   inputsRowsNeeded(config) → number
//     Grid rows an inference call must fetch for its newest row to equal the training row.
//   recentSpanMs(config) → number
//     How far back the in-memory windows (LatestValues, bad readings) must reach.
//   inferenceSpan(config, nowTs) → { fromTs, untilTs, rowTs }
//     For inference: fetch from fromTs (RecentSource.recent), build with untilTs, and
//     the last row is the prediction row if its ts is rowTs (else an input is stale).
//   trainingRows(dataset) → the rows whose target is known, for fitting.
//   CounterState, saveCounterState, loadCounterState (counter.ts): hand the returned
//   counterState back in after a restart, so the first counter reading is not a reset.
//
// Choices: rows are dense (every grid cell, not only cells with a fresh reading), since
// windows, lags and counter deltas count grid steps; a row whose target is unknown (or
// whose formula divides by zero) stays in X with y undefined, so inference does not depend
// on the target; trainingRows() leaves it out of fitting. `fill: linear` on an input looks
// ahead, so at inference the newest cell has a row only once that input has a reading in it;
// so does a counter input, whose increase into a cell is known only once it is read again.
// LIMITATION: a counter input therefore needs a reading in every grid cell for a prediction
// every cell; poll counters at least once per gridMs.
//
// Columns: the features in the order given, then for each feature its derived columns
// (`tag:mean5`, …, `tag:lag1`; see derived.ts).

import type { LearningConfig } from "../config/schema.js";
import type { TimeSeries } from "../core/series.js";
import { cleaningLookbackMs, cleanSeries } from "./clean.js";
import {
  type CounterState,
  counterStateAfter,
  RATE_WINDOW_CELLS,
  seedFromState,
} from "./counter.js";
import { derivedColumns, derivedLookbackRows } from "./derived.js";
import { type Formula, type FormulaRow, parseFormula } from "./formula.js";
import {
  type CellRange,
  counterOptions,
  emptyTagCounts,
  type TagColumns,
  type TagCounts,
  tagColumns,
} from "./tag-columns.js";

export type { CounterState } from "./counter.js";
export { loadCounterState, saveCounterState } from "./counter.js";
export type { TagCounts } from "./tag-columns.js";

export interface RowCounts {
  /** Rows in X. */
  kept: number;
  /** Cells left out: an input had no value within the fill reach. */
  missing: number;
  /** Cells left out: an input's last reading was bad (device down, timeout). */
  bad: number;
  /** Cells left out: an input counter was reset in that step. */
  reset: number;
  /** Cells left out: a derived window or lag reached a cell without a value. */
  window: number;
  /** Rows kept with y undefined: the target had no value (or its counter was reset). */
  targetMissing: number;
  /** Rows kept with y undefined: the formula divided by zero. */
  divisionByZero: number;
}

export interface DatasetCounts {
  tags: Record<string, TagCounts>;
  rows: RowCounts;
}

export interface Dataset {
  /** Start of each row's grid cell, ascending. */
  ts: number[];
  /** Names of X's columns. */
  columns: string[];
  X: number[][];
  /** The target per row; undefined where unknown (not yet known at inference). */
  y: (number | undefined)[];
  counts: DatasetCounts;
  /** The last reading of each counter, to save and hand back in after a restart. */
  counterState: CounterState;
}

export interface BuildOptions {
  /** Use readings before the cell holding untilTs only; the last row is the cell before. */
  untilTs?: number;
  /** Timestamps of each tag's bad readings, ascending: they end what is known of the tag. */
  bad?: ReadonlyMap<string, readonly number[]>;
  /**
   * Count only readings and cells from this ts on: what comes before is a look-back, which
   * the call building the rows before it counts. Rows before it are built all the same.
   */
  countFromTs?: number;
}

/** A dense grid of more cells than this is refused: the caller fetched far too long a span. */
const MAX_CELLS = 5_000_000;
const EMPTY: TimeSeries = { ts: [], values: [] };

/** Tags to fetch for a dataset: features, then target or formula tags, then counters. */
export function datasetTags(config: LearningConfig, features: readonly string[]): string[] {
  const formula = config.formula ? parseFormula(config.formula) : undefined;
  const target = formula ? formula.tags : [config.target];
  return [...new Set([...features, ...target, ...config.counters.map((c) => c.tag)])];
}

/**
 * Grid rows an inference call needs, counted back from and including its newest row: the
 * derived windows and lags, a counter's previous cell, the fill reach (linear looks one
 * cell further), and the cleaning's look back (outlier window and stuck run) of the oldest
 * reading used, with one fill reach of margin for the reading that opens a stuck run; with
 * counters, the recent steps a rollover is judged by (RATE_WINDOW_CELLS and their reach).
 */
export function inputsRowsNeeded(config: LearningConfig): number {
  // LIMITATION: a stuck run is judged from its first reading; if a tag was silent for more
  // than the margin just before the fetched span, an inference call can see a run start
  // later than training did and keep a reading training left out. Saving each tag's run
  // start, like the counter state, would remove the margin.
  const { gridMs, maxFillSteps } = config;
  const fillReach = maxFillSteps + 1;
  let cleaning = 0;
  for (const entry of config.preprocessing) {
    const margin = entry.stuckAfterMs !== undefined ? fillReach : 0;
    cleaning = Math.max(cleaning, Math.ceil(cleaningLookbackMs(entry, gridMs) / gridMs) + margin);
  }
  const formula = config.formula ? parseFormula(config.formula) : undefined;
  const counters = counterOptions(config, formula).size > 0 ? RATE_WINDOW_CELLS + fillReach : 0;
  return 1 + derivedLookbackRows(config.derived) + 1 + fillReach + counters + cleaning + 1;
}

/** Rows of slack the in-memory windows keep beyond what an inference call reads back. */
const RECENT_SLACK_ROWS = 4;

/** How much recent history inference needs in memory: the rows it reads back, and slack. */
export function recentSpanMs(config: LearningConfig): number {
  return (inputsRowsNeeded(config) + RECENT_SLACK_ROWS) * config.gridMs;
}

/** The fetch span and the expected newest row for an inference call at nowTs. */
export function inferenceSpan(config: LearningConfig, nowTs: number) {
  const untilTs = Math.floor(nowTs / config.gridMs) * config.gridMs;
  const fromTs = untilTs - inputsRowsNeeded(config) * config.gridMs;
  return { fromTs, untilTs, rowTs: untilTs - config.gridMs };
}

/** The rows with a known target, for fitting a model. */
export function trainingRows(dataset: Dataset): { ts: number[]; X: number[][]; y: number[] } {
  const out = { ts: [] as number[], X: [] as number[][], y: [] as number[] };
  dataset.y.forEach((y, i) => {
    if (y === undefined) return;
    out.ts.push(dataset.ts[i] as number);
    out.X.push(dataset.X[i] as number[]);
    out.y.push(y);
  });
  return out;
}

/**
 * Readings to rows; see the module header. Pure: the inputs are not modified.
 *
 * LIMITATION: it runs where it is called; a training-sized build (20000 cells, 8 tags with
 * outlier cleaning, 104 columns) took about 1 s on a loaded development machine, several
 * on a small gateway. Calling it inside the training worker keeps that off the poll loop.
 */
export function buildDataset(
  series: ReadonlyMap<string, TimeSeries>,
  config: LearningConfig,
  features: readonly string[],
  counterState: CounterState = {},
  options: BuildOptions = {},
): Dataset {
  const { gridMs } = config;
  if (!(gridMs > 0)) throw new RangeError(`gridMs must be > 0, got ${gridMs}`);
  const formula = config.formula ? parseFormula(config.formula) : undefined;
  const counters = counterOptions(config, formula);
  const tags = datasetTags(config, features);
  const counts: DatasetCounts = { tags: {}, rows: emptyRowCounts() };
  for (const tag of tags) counts.tags[tag] = emptyTagCounts();

  const untilCell =
    options.untilTs === undefined ? undefined : Math.floor(options.untilTs / gridMs);
  const clean = cleanAll(series, config, tags, counts, untilCell, options.countFromTs);
  const nextState = counterStateAfter(clean, counters.keys(), counterState);
  seedFromState(clean, counters.keys(), counterState, gridMs, config.maxFillSteps);

  const range = cellRange(clean, gridMs, untilCell, options.countFromTs);
  const columns = tagColumns(clean, config, counters, range, counts.tags, options.bad);
  const dataset = assemble(columns, config, features, formula, range, counts);
  return { ...dataset, counts, counterState: nextState };
}

function emptyRowCounts(): RowCounts {
  return {
    kept: 0,
    missing: 0,
    bad: 0,
    reset: 0,
    window: 0,
    targetMissing: 0,
    divisionByZero: 0,
  };
}

function cleanAll(
  series: ReadonlyMap<string, TimeSeries>,
  config: LearningConfig,
  tags: readonly string[],
  counts: DatasetCounts,
  untilCell: number | undefined,
  countFromTs: number | undefined,
): Map<string, TimeSeries> {
  const out = new Map<string, TimeSeries>();
  for (const tag of tags) {
    let raw = series.get(tag) ?? EMPTY;
    if (untilCell !== undefined) raw = before(raw, untilCell * config.gridMs);
    const options = config.preprocessing.find((p) => p.tag === tag) ?? {};
    const tagCounts = counts.tags[tag] as TagCounts;
    out.set(tag, cleanSeries(raw, options, config.gridMs, tagCounts, countFromTs));
  }
  return out;
}

function before(series: TimeSeries, untilTs: number): TimeSeries {
  let n = series.ts.length;
  while (n > 0 && (series.ts[n - 1] as number) >= untilTs) n--;
  if (n === series.ts.length) return series;
  return { ts: series.ts.slice(0, n), values: series.values.slice(0, n) };
}

function cellRange(
  clean: ReadonlyMap<string, TimeSeries>,
  gridMs: number,
  untilCell: number | undefined,
  countFromTs: number | undefined,
): CellRange {
  let first = Infinity;
  let last = -Infinity;
  for (const s of clean.values()) {
    if (s.ts.length === 0) continue;
    first = Math.min(first, Math.floor((s.ts[0] as number) / gridMs));
    last = Math.max(last, Math.floor((s.ts.at(-1) as number) / gridMs));
  }
  if (untilCell !== undefined) last = untilCell - 1;
  if (!Number.isFinite(first) || last < first) return { firstCell: 0, cells: 0, countFrom: 0 };
  const cells = last - first + 1;
  if (cells > MAX_CELLS) {
    throw new RangeError(`${cells} grid cells of ${gridMs} ms: fetch a shorter span`);
  }
  const counted = countFromTs === undefined ? first : Math.ceil(countFromTs / gridMs);
  return { firstCell: first, cells, countFrom: Math.max(0, counted - first) };
}

function assemble(
  tags: TagColumns,
  config: LearningConfig,
  features: readonly string[],
  formula: Formula | undefined,
  range: CellRange,
  counts: DatasetCounts,
): Omit<Dataset, "counts" | "counterState"> {
  const base = features.map((f) => tags.values.get(f) as number[]);
  const derived = features.flatMap((f, i) =>
    derivedColumns(f, base[i] as number[], config.derived),
  );
  const target = targetColumn(tags, config, formula, range.cells);
  const out = {
    ts: [] as number[],
    columns: [...features, ...derived.map((d) => d.name)],
    X: [] as number[][],
    y: [] as (number | undefined)[],
  };

  // Cells before countFrom are a look-back: built, not counted.
  const rows = emptyRowCounts();
  for (let k = 0; k < range.cells; k++) {
    const tally = k >= range.countFrom ? counts.rows : rows;
    const missing = base.findIndex((col) => Number.isNaN(col[k]));
    if (missing >= 0) {
      tally[whyMissing(tags, features, k)]++;
      continue;
    }
    if (derived.some((d) => Number.isNaN(d.values[k]))) {
      tally.window++;
      continue;
    }
    const y = target[k] as number | "divisionByZero" | undefined;
    if (y === undefined) tally.targetMissing++;
    if (y === "divisionByZero") tally.divisionByZero++;
    tally.kept++;
    out.ts.push((range.firstCell + k) * config.gridMs);
    out.X.push([...base.map((c) => c[k] as number), ...derived.map((d) => d.values[k] as number)]);
    out.y.push(typeof y === "number" ? y : undefined);
  }
  return out;
}

function whyMissing(tags: TagColumns, features: readonly string[], k: number) {
  const missing = features.filter((f) => Number.isNaN(tags.values.get(f)?.[k]));
  if (missing.some((f) => tags.faulted.get(f)?.[k])) return "bad";
  if (missing.some((f) => tags.resets.get(f)?.has(k))) return "reset";
  return "missing";
}

/** The target per cell: a number, undefined when unknown, or why the formula gave none. */
function targetColumn(
  tags: TagColumns,
  config: LearningConfig,
  formula: Formula | undefined,
  cells: number,
): (number | "divisionByZero" | undefined)[] {
  const out = new Array<number | "divisionByZero" | undefined>(cells).fill(undefined);
  if (!formula) {
    const values = tags.values.get(config.target) ?? [];
    for (let k = 0; k < cells; k++) if (!Number.isNaN(values[k])) out[k] = values[k];
    return out;
  }

  // One row object reused for every cell: the formula reads it and keeps nothing.
  const row: FormulaRow = { values: new Map(), deltas: new Map(), gridMs: config.gridMs };
  const values = row.values as Map<string, number>;
  const deltas = row.deltas as Map<string, number>;
  for (let k = 0; k < cells; k++) {
    for (const tag of formula.tags) {
      values.set(tag, tags.values.get(tag)?.[k] ?? Number.NaN);
      deltas.set(tag, tags.deltas.get(tag)?.[k] ?? Number.NaN);
    }
    const result = formula.evaluate(row);
    if (result.ok) out[k] = result.value;
    else if (result.reason === "divisionByZero") out[k] = "divisionByZero";
  }
  return out;
}
