// What a training run learns from: the newest windowRows aligned rows, plus a reservoir
// sample of older ones so old regimes are not forgotten, less the rows taken while a rule
// was in alarm. The holdout is always the newest rows of the window, never reservoir rows.

import type { LearningConfig } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { HistorySource } from "../core/series.js";
import {
  buildDataset,
  type DatasetCounts,
  datasetTags,
  inputsRowsNeeded,
  trainingRows,
} from "../preprocess/dataset.js";
import { type AlarmSpanSource, outsideSpans } from "./alarm-spans.js";
import { type BadReadingSource, between } from "./bad-readings.js";
import { Reservoir, type SampleRow } from "./reservoir.js";
import type { TrainRequest } from "./types.js";

/** Grid cells built per slice of a training read: a few milliseconds of main-thread work. */
const CHUNK_CELLS = 250;

export interface TrainingSetOptions {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  history: HistorySource;
  /** When readings were bad: they stop the fill, so a fault's cells are not trained on. */
  badReadings?: BadReadingSource;
  /** Consulted only when config.excludeAlarms is set. */
  alarmSpans?: AlarmSpanSource;
  logger: Logger;
}

export interface TrainingData {
  request: TrainRequest;
  /** Time range of the window's rows. */
  fromTs: number;
  toTs: number;
  windowRows: number;
  reservoirRows: number;
  /** Aligned rows left out because a rule was in alarm. */
  excludedRows: number;
  /** What cleaning dropped or repaired per tag, and why cells were left out, in the window. */
  counts: DatasetCounts;
}

/**
 * How many windows back the reservoir is filled from after a start: the sample itself lives
 * in memory only.
 */
export const RESERVOIR_LOOKBACK_WINDOWS = 10;

export class TrainingSet {
  private readonly reservoir: Reservoir;
  /** Rows older than this have been offered to the reservoir. */
  private offeredUntil: number | undefined;

  constructor(private readonly options: TrainingSetOptions) {
    this.reservoir = new Reservoir(options.config.reservoirRows);
  }

  async build(nowTs: number): Promise<TrainingData> {
    const { config, features } = this.options;
    const toTs = nowTs + 1;
    const windowFrom = toTs - config.windowRows * config.gridMs;
    let excluded = await this.feedReservoir(windowFrom);

    const window = await this.rows(windowFrom, toTs);
    const columns = buildDataset(new Map(), config, features).columns;
    excluded += window.excluded;
    const rows = window.rows.slice(-config.windowRows);
    const older = this.reservoir.sample();
    const all = [...older, ...rows];
    const request: TrainRequest = {
      x: all.map((r) => r.x),
      y: all.map((r) => r.y),
      features: columns,
      model: config.model,
      holdoutFraction: config.holdoutFraction,
      holdoutRows: Math.max(1, Math.round(rows.length * config.holdoutFraction)),
    };
    return {
      request,
      fromTs: rows[0]?.ts ?? windowFrom,
      toTs: rows.at(-1)?.ts ?? toTs,
      windowRows: rows.length,
      reservoirRows: older.length,
      excludedRows: excluded,
      counts: window.counts,
    };
  }

  /** Offers the rows that left the window since the last run; returns rows excluded. */
  private async feedReservoir(windowFrom: number): Promise<number> {
    const { config } = this.options;
    if (config.reservoirRows <= 0) return 0;
    const span = config.windowRows * config.gridMs;
    // LIMITATION: after a restart the sample is rebuilt from at most RESERVOIR_LOOKBACK_WINDOWS
    // windows of the buffer, not from all of it. Saving the sample with each model version
    // (it is small) would carry it over a restart.
    const lookback = windowFrom - RESERVOIR_LOOKBACK_WINDOWS * span;
    let from = Math.max(this.offeredUntil ?? lookback, lookback);
    let excluded = 0;
    while (from < windowFrom) {
      const to = Math.min(from + span, windowFrom);
      const chunk = await this.rows(from, to);
      for (const row of chunk.rows) this.reservoir.offer(row);
      excluded += chunk.excluded;
      from = to;
      // A long history is read in window-sized chunks; let polling run in between.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.offeredUntil = Math.max(this.offeredUntil ?? windowFrom, windowFrom);
    return excluded;
  }

  /**
   * Rows with a known target from readings in [fromTs, toTs), built the way inference
   * builds them, less those inside alarm spans. Only complete cells: toTs ends the last.
   * The span is built in slices of CHUNK_CELLS grid cells, each read with the look-back
   * inference uses, with a turn of the event loop between them: the history read and the
   * dataset build run on the main thread, and one long build would stall polling.
   */
  private async rows(
    fromTs: number,
    toTs: number,
  ): Promise<{ rows: SampleRow[]; excluded: number; counts: DatasetCounts }> {
    const { config, features, alarmSpans, logger, badReadings } = this.options;
    const rows: SampleRow[] = [];
    const counts: DatasetCounts = { tags: {}, rows: {} as DatasetCounts["rows"] };
    // Slices end on cell edges, so no cell is split between two of them.
    const cell = (ts: number) => Math.floor(ts / config.gridMs) * config.gridMs;
    const lookback = inputsRowsNeeded(config) * config.gridMs;
    // One read of the bad readings for the whole span; each slice takes its part.
    const tags = datasetTags(config, features);
    const bad = badReadings?.badReadings(tags, cell(fromTs) - lookback, toTs);
    for (let from = cell(fromTs); from < toTs; from += CHUNK_CELLS * config.gridMs) {
      const part = this.slice(from, Math.min(from + CHUNK_CELLS * config.gridMs, toTs), bad);
      rows.push(...part.rows);
      addCounts(counts, part.counts);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const spans = config.excludeAlarms && alarmSpans ? alarmSpans.alarmSpans(fromTs, toTs) : [];
    const kept = outsideSpans(rows, spans);
    logger.debug({ rows: kept.length, ...counts.rows }, "training rows");
    return { rows: kept, excluded: rows.length - kept.length, counts };
  }

  /** The rows of cells in [fromTs, toTs), from readings reaching back as inference reads. */
  private slice(
    fromTs: number,
    toTs: number,
    bad: ReadonlyMap<string, readonly number[]> | undefined,
  ): { rows: SampleRow[]; counts: DatasetCounts } {
    const { config, features, history } = this.options;
    const tags = datasetTags(config, features);
    const from = fromTs - inputsRowsNeeded(config) * config.gridMs;
    const sliceBad = bad && new Map([...bad].map(([tag, ts]) => [tag, between(ts, from, toTs)]));
    // Counter state is not carried between slices: the look-back covers each slice's first
    // counter step, as it does at inference.
    // Each slice counts its own cells only: its look-back belongs to the slice before.
    const dataset = buildDataset(
      history.history(tags, from, toTs),
      config,
      features,
      {},
      {
        untilTs: toTs,
        bad: sliceBad,
        countFromTs: fromTs,
      },
    );
    const known = trainingRows(dataset);
    const rows: SampleRow[] = [];
    known.ts.forEach((ts, i) => {
      if (ts >= fromTs) rows.push({ ts, x: known.X[i] as number[], y: known.y[i] as number });
    });
    return { rows, counts: dataset.counts };
  }
}

/** Adds `part`'s counts into `sum`, field by field. */
function addCounts(sum: DatasetCounts, part: DatasetCounts): void {
  const add = (into: object, from: object) => {
    const target = into as Record<string, number>;
    for (const [k, v] of Object.entries(from)) target[k] = (target[k] ?? 0) + (v as number);
  };
  add(sum.rows, part.rows);
  for (const [tag, c] of Object.entries(part.tags)) {
    const into = sum.tags[tag];
    if (into) add(into, c);
    else sum.tags[tag] = { ...c };
  }
}
