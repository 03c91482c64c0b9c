// Watches the champion's live errors: each prediction waits for the target's real value in
// its grid cell, and the absolute residual goes to Page-Hinkley. On drift it logs, records
// an event and asks for an early retrain. Matched cells also count the new aligned rows
// that `retrainAfterRows` waits for.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";
import type { LatestSource, Prediction, RecentSource, TimeSeries } from "../core/series.js";
import { PageHinkley, ResidualMatcher } from "./drift.js";

export interface DriftWatchDeps {
  latest: LatestSource;
  recent?: RecentSource;
  clock: Clock;
  logger: Logger;
  events: EventSink;
}

export class DriftWatch {
  /** Called once per detected drift, after the detector was reset. */
  onDrift: () => void = () => {};
  /** Predictions matched with a real target value since the last training run. */
  newRows = 0;
  private readonly detector: PageHinkley;
  private readonly matcher: ResidualMatcher;
  /** Target values per cell from the last dataset built for inference, when there is one. */
  private known: TimeSeries | undefined;

  constructor(
    private readonly config: LearningConfig,
    private readonly version: () => string | undefined,
    private readonly deps: DriftWatchDeps,
  ) {
    this.detector = new PageHinkley(config.drift);
    // A target reading may come up to the fill reach late and still describe its cell.
    this.matcher = new ResidualMatcher(config.gridMs, config.maxFillSteps + 2);
  }

  expect(p: Prediction): void {
    this.matcher.expect(p.ts, p.value);
  }

  /** Matches waiting predictions with the target values that arrived; runs the detector. */
  check(): void {
    const oldest = this.matcher.oldestCellTs();
    if (oldest === undefined) return;
    const { clock, config } = { ...this.deps, config: this.config };
    for (const r of this.matcher.settle(this.targetSince(oldest), clock.now())) {
      this.newRows++;
      if (!config.drift.enabled) continue;
      if (this.detector.update(Math.abs(r.predicted - r.actual))) this.alarm(r.cellTs);
    }
  }

  /** The target per cell as the inference dataset saw it (undefined: not known yet). */
  actuals(ts: readonly number[], y: readonly (number | undefined)[]): void {
    const known: TimeSeries = { ts: [], values: [] };
    y.forEach((v, i) => {
      if (v === undefined) return;
      known.ts.push(ts[i] as number);
      known.values.push(v);
    });
    this.known = known;
  }

  /** A run finished: new rows count from here. */
  trained(): void {
    this.newRows = 0;
  }

  /** Another champion: its errors start a new record. */
  reset(): void {
    this.detector.reset();
    this.matcher.clear();
  }

  status(): Record<string, number> {
    return {
      samples: this.detector.samples,
      statistic: this.detector.statistic,
      newRows: this.newRows,
    };
  }

  private targetSince(fromTs: number): TimeSeries {
    const { recent, latest } = this.deps;
    const target = this.config.target;
    if (this.known) return this.known;
    if (recent) return recent.recent([target], fromTs).get(target) ?? { ts: [], values: [] };
    // Without the recent span, the newest reading is the last of its cell once the cell is
    // complete, since no later one exists.
    const last = latest.latest(target);
    return last && last.ts >= fromTs
      ? { ts: [last.ts], values: [last.value] }
      : { ts: [], values: [] };
  }

  private alarm(cellTs: number): void {
    const { logger, events, clock } = this.deps;
    const fields = {
      version: this.version(),
      statistic: this.detector.statistic,
      samples: this.detector.samples,
      threshold: this.config.drift.threshold,
    };
    logger.warn({ ...fields, cellTs }, "model drift detected");
    events.event({
      ts: clock.now(),
      kind: "model.drift",
      source: "learner",
      message: `model ${fields.version} drift detected: early retrain`,
      data: fields,
    });
    this.detector.reset();
    this.onDrift();
  }
}
