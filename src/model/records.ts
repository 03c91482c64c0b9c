// What a training run leaves on record: a log line and an event saying which model won and
// by how much, with both holdout errors, so an operator can see why a model was kept.

import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";
import type { DatasetCounts } from "../preprocess/dataset.js";
import type { ModelMeta } from "./model-store.js";
import type { Verdict } from "./promotion.js";
import type { TrainingData } from "./training-set.js";
import type { TrainResult } from "./types.js";

export interface RecordDeps {
  clock: Clock;
  logger: Logger;
  events: EventSink;
}

export interface PromotionContext {
  result: TrainResult;
  data: TrainingData;
  /** What started the run: "no model", "interval", "new rows", "drift", … */
  trigger: string;
  verdict: Verdict;
  /** The champion the challenger was measured against. */
  champion?: ModelMeta;
}

/** What the run's data cost in cleaning, nonzero counts only: per tag, and cells left out. */
export interface CleaningSummary {
  tags: Record<string, Record<string, number>>;
  rows: Record<string, number>;
}

export function cleaningSummary(counts: DatasetCounts): CleaningSummary {
  const nonzero = (c: object) =>
    Object.fromEntries(Object.entries(c).filter(([, v]) => typeof v === "number" && v > 0));
  const tags: CleaningSummary["tags"] = {};
  for (const [tag, c] of Object.entries(counts.tags)) {
    const kept = nonzero(c);
    if (Object.keys(kept).length > 0) tags[tag] = kept;
  }
  // Rows kept are reported as rows already; these say why the others are not there.
  const { kept: _, ...left } = counts.rows;
  return { tags, rows: nonzero(left) };
}

function comparison(context: PromotionContext) {
  const { result, champion } = context;
  return {
    holdoutMae: result.metrics.holdoutMae,
    holdoutRmse: result.metrics.holdoutRmse,
    championVersion: champion?.version,
    championMae: result.champion?.holdoutMae,
    championRmse: result.champion?.holdoutRmse,
    trigger: context.trigger,
    reason: context.verdict.reason,
  };
}

export function recordPromotion(deps: RecordDeps, context: PromotionContext, version: string) {
  const { logger, events, clock } = deps;
  const { metrics, backend, warmStarted } = context.result;
  const { data } = context;
  const rows = metrics.trainRows + metrics.holdoutRows;
  const fields = { version, ...comparison(context), rows, trainMs: metrics.trainMs };
  const cleaning = cleaningSummary(data.counts);
  // "model trained" is the line operators and the end-to-end tests look for.
  logger.info({ ...fields, warmStarted, promoted: true, cleaning }, "model trained");
  events.event({
    ts: clock.now(),
    kind: "model.promoted",
    source: "learner",
    message: `model ${version} promoted: ${context.verdict.reason}`,
    data: {
      ...fields,
      windowRows: data.windowRows,
      reservoirRows: data.reservoirRows,
      excludedRows: data.excludedRows,
      warmStarted,
      backend,
      cleaning,
    },
  });
}

/** A challenger not promoted; `retryInMs` when it diverged and the next run waits. */
export function recordRejection(deps: RecordDeps, context: PromotionContext, retryInMs?: number) {
  const { logger, events, clock } = deps;
  const fields = { ...comparison(context), ...(retryInMs !== undefined && { retryInMs }) };
  logger.warn({ ...fields, cleaning: cleaningSummary(context.data.counts) }, "model rejected");
  const retry = retryInMs === undefined ? "" : `; next try in ${Math.round(retryInMs / 1000)} s`;
  events.event({
    ts: clock.now(),
    kind: "model.rejected",
    source: "learner",
    message: `challenger rejected: ${context.verdict.reason}${retry}`,
    data: { ...fields, ...context.result.metrics, warmStarted: context.result.warmStarted },
  });
}

/** A training run that threw (the worker crashed, the history could not be read). */
export function recordFailure(deps: RecordDeps, error: string, retryInMs: number) {
  const { logger, events, clock } = deps;
  logger.error({ err: error, retryInMs }, "training failed");
  events.event({
    ts: clock.now(),
    kind: "model.failed",
    source: "learner",
    message: `training failed: ${error}; next try in ${Math.round(retryInMs / 1000)} s`,
    data: { error, retryInMs },
  });
}
