// What a training run learns from: the newest windowRows aligned rows, plus a reservoir
// sample of older ones so old regimes are not forgotten, less the rows taken while a rule
// was in alarm. The holdout is always the newest rows of the window, never reservoir rows.

import type { LearningConfig } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { HistorySource } from "../core/series.js";
import { buildDataset, datasetTags, trainingRows } from "../preprocess/dataset.js";
import { type AlarmSpanSource, outsideSpans } from "./alarm-spans.js";
import { Reservoir, type SampleRow } from "./reservoir.js";
import type { TrainRequest } from "./types.js";

export interface TrainingSetOptions {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  history: HistorySource;
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

    const window = this.rows(windowFrom, toTs);
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
      const chunk = this.rows(from, to);
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
   */
  private rows(fromTs: number, toTs: number): { rows: SampleRow[]; excluded: number } {
    const { config, features, history, alarmSpans, logger } = this.options;
    const tags = datasetTags(config, features);
    // LIMITATION: the history read and the dataset build run on the main thread; at the
    // default 20000-row window that is tens of milliseconds. Moving both into the worker
    // (with its own read-only database handle) would lift it. Counter state is not carried
    // between reads, so each read loses its first counter step.
    const dataset = buildDataset(
      history.history(tags, fromTs, toTs),
      config,
      features,
      {},
      {
        untilTs: toTs,
      },
    );
    const known = trainingRows(dataset);
    const rows = known.ts.map((ts, i) => ({
      ts,
      x: known.X[i] as number[],
      y: known.y[i] as number,
    }));
    const spans = config.excludeAlarms && alarmSpans ? alarmSpans.alarmSpans(fromTs, toTs) : [];
    const kept = outsideSpans(rows, spans);
    logger.debug({ rows: kept.length, ...dataset.counts.rows }, "training rows");
    return { rows: kept, excluded: rows.length - kept.length };
  }
}
