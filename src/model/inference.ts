// The input row a prediction is made from, every grid step: the dataset row of the newest
// complete grid cell, built from the readings kept in memory exactly as training builds its
// rows. The same step keeps the counters' last readings and the drift watch's target values
// current, whether or not a model exists yet, so that a restart before the first model is
// not read as a counter reset.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Reading } from "../core/reading.js";
import type { LatestSource, RecentSource } from "../core/series.js";
import { buildDataset, datasetTags, inferenceSpan, recentSpanMs } from "../preprocess/dataset.js";
import { RecentBadReadings } from "./bad-readings.js";
import type { CounterMemory } from "./counter-memory.js";
import type { DriftWatch } from "./drift-watch.js";

export interface InferenceDeps {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  latest: LatestSource;
  recent?: RecentSource;
  clock: Clock;
}

/**
 * A row to predict from, or why there is none: "inputs bad" when an input's newest reading
 * is bad (or it has none yet), "inputs stale" when an input is older than the fill reach.
 */
export type InputRow =
  | { ts: number; row: number[] }
  | { ts?: undefined; why: "inputs bad" | "inputs stale"; tags?: string[] };

export class Inference {
  private readonly bad: RecentBadReadings;

  constructor(
    private readonly deps: InferenceDeps,
    private readonly counters: CounterMemory,
    private readonly drift: DriftWatch,
  ) {
    const { config, features } = deps;
    // As far back as the readings the daemon keeps for recent().
    this.bad = new RecentBadReadings(datasetTags(config, features), recentSpanMs(config));
  }

  /** Readings as they pass: the bad ones stop the fill at inference as in training. */
  observe(readings: readonly Reading[]): void {
    this.bad.observe(readings);
  }

  clockJumped(deltaMs: number): void {
    this.bad.clockJumped(deltaMs);
  }

  /**
   * The newest complete cell's row, or why there is none. An input whose newest reading is
   * bad (its device is down, a timeout) gives none: a value held from before the fault
   * would describe a plant state that no longer holds, and could raise or hide an alarm.
   */
  row(columns: number): InputRow {
    const input = this.deps.recent ? this.datasetRow() : this.latestRow(columns);
    const { features, latest } = this.deps;
    const down = features.filter((tag) => latest.latest(tag) === undefined);
    if (down.length > 0) return { why: "inputs bad", tags: down };
    return input;
  }

  /** The row the dataset builds for the newest complete cell, as training built its rows. */
  private datasetRow(): InputRow {
    const { config, features, recent, clock } = this.deps;
    const span = inferenceSpan(config, clock.now());
    const tags = datasetTags(config, features);
    const series = recent?.recent(tags, span.fromTs) ?? new Map();
    const bad = this.bad.badReadings(tags, span.fromTs, span.untilTs);
    const dataset = buildDataset(series, config, features, this.counters.state, {
      untilTs: span.untilTs,
      bad,
    });
    this.counters.state = dataset.counterState;
    // Target values of recent cells, for the drift watch: a formula target exists only here.
    this.drift.actuals(dataset.ts, dataset.y);
    const row = dataset.X.at(-1);
    // A newest row for an older cell means an input is stale (or was bad since).
    if (!row || dataset.ts.at(-1) !== span.rowTs) return { why: "inputs stale" };
    return { ts: span.rowTs, row };
  }

  /**
   * Without a recent span (tests, tools), plain latest values stand in: valid only while
   * the columns are the feature tags themselves (no counters, formula or derived columns).
   */
  private latestRow(columns: number): InputRow {
    const { config, features, latest, clock } = this.deps;
    for (const c of config.counters) {
      const reading = latest.latest(c.tag);
      if (reading) this.counters.state = { ...this.counters.state, [c.tag]: reading };
    }
    if (columns !== features.length) return { why: "inputs stale" };
    const now = clock.now();
    const maxAge = config.maxFillSteps * config.gridMs + config.gridMs;
    const row: number[] = [];
    for (const tag of features) {
      const reading = latest.latest(tag);
      if (!reading || now - reading.ts > maxAge) return { why: "inputs stale" };
      row.push(reading.value);
    }
    return { ts: now, row };
  }
}
