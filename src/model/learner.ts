// Learns the target tag from the other tags on the device: trains a challenger in a worker
// thread when enough aligned history exists, then on a schedule, after enough new rows or
// on drift; keeps it only if it beats the champion on the same holdout; keeps the champion
// on disk so a restart continues with it, and predicts on the main thread every grid step.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { Reading } from "../core/reading.js";
import type { HistorySource, LatestSource, Prediction, RecentSource } from "../core/series.js";
import { scaleRow, unscaleValue } from "../preprocess/scaler.js";
import type { AlarmSpanSource } from "./alarm-spans.js";
import { type BackendName, initBackend, type TfRuntime } from "./backend.js";
import type { BadReadingSource } from "./bad-readings.js";
import { type Champion, championInput, type ExpectedInputs, expectedInputs } from "./champion.js";
import { type LoaderDeps, loadChampion, saveChampion, toChampion } from "./champion-disk.js";
import { CounterMemory } from "./counter-memory.js";
import { DriftWatch } from "./drift-watch.js";
import { Inference, type InputRow } from "./inference.js";
import { ModelStore } from "./model-store.js";
import { predictRows } from "./network.js";
import { judgeChallenger } from "./promotion.js";
import {
  type PromotionContext,
  recordFailure,
  recordPromotion,
  recordRejection,
} from "./records.js";
import { Trainer } from "./trainer.js";
import { type TrainingData, TrainingSet } from "./training-set.js";

export interface LearnerOptions {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  modelDir: string;
  history: HistorySource;
  /** When readings in the history were bad: they stop the fill, in training as at inference. */
  badReadings?: BadReadingSource;
  latest: LatestSource;
  /** Recent readings not yet committed, for features over a window at inference. */
  recent?: RecentSource;
  /** When a rule was in alarm; with config.excludeAlarms those rows are not trained on. */
  alarmSpans?: AlarmSpanSource;
  /** Called every grid step: a prediction, or undefined when none can be made (unknown). */
  onPrediction: (p: Prediction | undefined) => void;
  clock: Clock;
  logger: Logger;
  events: EventSink;
  /** How often the training loop checks whether a run is due; default 5 s. */
  trainCheckMs?: number;
  /** The compiled training worker; default: found by resolveWorkerUrl(). */
  workerUrl?: URL;
  backendOrder?: readonly BackendName[];
}

const DEFAULT_TRAIN_CHECK_MS = 5000;
/**
 * After a run that failed or diverged, wait this long to try again, twice as long after each
 * further one in a row, never longer than the retrain interval.
 */
const FAILED_RUN_BACKOFF_MS = 60_000;

export class Learner implements Component {
  readonly name = "learner";
  private runtime: TfRuntime | undefined;
  private store: ModelStore | undefined;
  private trainer: Trainer | undefined;
  private trainingSet: TrainingSet | undefined;
  private drift: DriftWatch | undefined;
  private champion: Champion | undefined;
  /** Counts champion swaps, so a run that outlived its champion is not compared with another. */
  private championSwaps = 0;
  private running = false;
  private stopping = false;
  private trainTimer: NodeJS.Timeout | undefined;
  private predictTimer: NodeJS.Timeout | undefined;
  private counters: CounterMemory | undefined;
  private inference: Inference | undefined;
  private nextTrainMono = 0;
  private backoffUntilMono = 0;
  /** Runs in a row that failed or diverged, for the backoff. */
  private failedRuns = 0;
  /** Why the last grid step had no input row, while a model exists. */
  private unknownWhy: string | undefined;
  private retrainReason: string | undefined;
  private predictions = 0;
  private lastError: string | undefined;
  private expectedCache: ExpectedInputs | undefined;

  constructor(private readonly options: LearnerOptions) {}

  async start(): Promise<void> {
    const { logger, modelDir, workerUrl, config, features, history, alarmSpans } = this.options;
    this.stopping = false;
    this.runtime = await initBackend(this.options.backendOrder);
    logger.info({ backend: this.runtime.backend }, "tensorflow backend ready");

    this.store = new ModelStore(modelDir, logger);
    this.counters = new CounterMemory(modelDir, logger);
    await this.counters.start();
    const { badReadings } = this.options;
    this.trainingSet = new TrainingSet({
      config,
      features,
      history,
      badReadings,
      alarmSpans,
      logger,
    });
    this.drift = new DriftWatch(config, () => this.champion?.meta.version, this.options);
    this.drift.onDrift = () => this.requestRetrain("drift");
    this.inference = new Inference(this.options, this.counters, this.drift);
    await this.loadStoredChampion();

    this.trainer = new Trainer({ logger, workerUrl, backendOrder: this.options.backendOrder });
    const trainerBackend = await this.trainer.start();
    logger.debug({ backend: trainerBackend }, "training worker ready");

    this.running = true;
    this.scheduleTraining(0);
    this.predictTimer = setInterval(() => this.emitPrediction(), config.gridMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.trainTimer);
    clearInterval(this.predictTimer);
    await this.counters?.stop();
    await this.trainer?.stop();
    this.trainer = undefined;
    this.champion?.network.dispose();
    this.champion = undefined;
  }

  health(): Health {
    const meta = this.champion?.meta;
    return {
      status: !this.running ? "down" : this.lastError ? "degraded" : "ok",
      modelVersion: meta?.version ?? "no model yet",
      lastTrainedTs: meta?.createdTs,
      holdoutMae: meta?.holdoutMae,
      predictions: this.predictions,
      drift: this.drift?.status(),
      backend: this.runtime?.backend,
      predictionUnknown: this.unknownWhy,
      failedRuns: this.failedRuns || undefined,
      lastError: this.lastError,
    };
  }

  /** Readings as the pollers deliver them; their bad ones stop the fill at inference. */
  observe(readings: readonly Reading[]): void {
    this.inference?.observe(readings);
  }

  /** The clock monitor's report: a step backwards restarts what inference remembers. */
  clockJumped(deltaMs: number): void {
    this.inference?.clockJumped(deltaMs);
  }

  /**
   * The prediction for the newest complete grid cell, or undefined (the rules see unknown)
   * without a model, or when an input is stale or its newest reading is bad: an input
   * older than the grid's fill reach, or held from before a fault, would describe a plant
   * state that no longer holds, and a prediction from it could raise or hide an alarm.
   */
  predictNow(): Prediction | undefined {
    // The row is built even without a model: it keeps the counters' last readings current.
    const input = this.inference?.row(this.expected().columns.length);
    const { champion, runtime } = this;
    if (!champion || !runtime || !input) return undefined;
    this.noteInputs(input);
    if (input.ts === undefined) return undefined;

    const scaled = scaleRow(champion.scalers.features, input.row);
    const out = champion.forward
      ? champion.forward(scaled)
      : predictRows(runtime.tf, champion.network, [scaled])[0];
    const value = unscaleValue(champion.scalers.target, out ?? Number.NaN);
    if (!Number.isFinite(value)) return undefined;
    const band = champion.meta.band;
    return {
      ts: input.ts,
      target: this.options.config.target,
      value,
      ...(band && { lower: value + band.lower, upper: value + band.upper }),
      modelVersion: champion.meta.version,
    };
  }

  /** Logs when predictions stop for bad inputs and when they resume. */
  private noteInputs(input: InputRow): void {
    const why = input.ts === undefined ? input.why : undefined;
    if (why === this.unknownWhy) return;
    const { logger } = this.options;
    if (why === "inputs bad") {
      logger.info(
        { tags: input.ts === undefined ? input.tags : [] },
        "predictions unknown: inputs bad or not read yet",
      );
    } else if (this.unknownWhy === "inputs bad") {
      logger.info("predictions resumed");
    }
    this.unknownWhy = why;
  }

  /** Asks for a training run at the next check, whatever the schedule says. */
  requestRetrain(reason: string): void {
    this.retrainReason ??= reason;
  }

  /**
   * Loads the version the pointer names now (after `plantgate models rollback`) and makes it
   * the champion. Throws, keeping the present champion, when it is unreadable or refused.
   */
  async reload(): Promise<{ version: string }> {
    const store = this.store;
    if (!store || !this.runtime) throw new Error("the learner is not running");
    const version = await store.current();
    if (!version) throw new Error("no current model version in the model directory");
    const champion = await toChampion(this.loaderDeps(), await store.load(version));
    this.swapChampion(champion);
    this.options.logger.info({ version, holdoutMae: champion.meta.holdoutMae }, "model reloaded");
    return { version };
  }

  private emitPrediction(): void {
    try {
      const prediction = this.predictNow();
      if (prediction) {
        this.predictions++;
        this.drift?.expect(prediction);
      }
      this.options.onPrediction(prediction);
      this.drift?.check();
    } catch (err) {
      this.options.logger.warn({ err: String(err) }, "prediction failed");
    }
  }

  // Training loop

  private scheduleTraining(delayMs: number): void {
    if (!this.running) return;
    this.trainTimer = setTimeout(() => {
      this.trainIfDue()
        .catch((err: unknown) => this.trainingFailed(err))
        .finally(() => this.scheduleTraining(this.options.trainCheckMs ?? DEFAULT_TRAIN_CHECK_MS));
    }, delayMs);
  }

  /** Why a run is due now, or undefined. */
  private dueReason(): string | undefined {
    const { clock, config } = this.options;
    const now = clock.monotonic();
    if (now < this.backoffUntilMono) return undefined;
    if (!this.champion) return "no model";
    if (this.retrainReason) return this.retrainReason;
    if (now >= this.nextTrainMono) return "interval";
    const after = config.retrainAfterRows;
    if (after !== undefined && (this.drift?.newRows ?? 0) >= after) return "new rows";
    return undefined;
  }

  private async trainIfDue(): Promise<void> {
    const trigger = this.dueReason();
    const { config, logger, clock } = this.options;
    const { trainer } = this;
    if (!trigger || !trainer) return;
    const data = await this.readTrainingData();
    if (!data) return;

    const champion = this.champion;
    const swaps = this.championSwaps;
    logger.debug({ trigger, rows: data.request.x.length }, "training a challenger");
    const result = await trainer.train({
      ...data.request,
      champion: champion && championInput(champion),
      warmStart: config.warmStart,
      band: config.band,
    });
    if (!this.running) return;
    this.nextTrainMono = clock.monotonic() + config.retrainIntervalMs;
    this.retrainReason = undefined;
    this.drift?.trained();
    if (swaps !== this.championSwaps) {
      logger.info({ trigger }, "champion changed during the run: challenger discarded");
      return;
    }
    const verdict = judgeChallenger(result.metrics, result.champion, config.promoteMargin);
    await this.settle({ result, data, trigger, verdict, champion: champion?.meta });
  }

  /** The rows for a run, or undefined when there are too few yet. */
  private async readTrainingData(): Promise<TrainingData | undefined> {
    const { config, logger, clock } = this.options;
    const started = clock.monotonic();
    const data = await (this.trainingSet as TrainingSet).build(clock.now());
    const ms = Math.round(clock.monotonic() - started);
    logger.debug({ rows: data.windowRows, ms }, "training rows read");
    if (data.windowRows >= config.minRows) return data;
    logger.debug({ rows: data.windowRows, minRows: config.minRows }, "too few rows to train");
    return undefined;
  }

  /** Promotes, rejects, or backs off from a diverged challenger. */
  private async settle(context: PromotionContext): Promise<void> {
    if (!Number.isFinite(context.result.metrics.holdoutMae)) {
      // Diverged: the same data and settings would diverge again at the next check.
      recordRejection(this.options, context, this.backOff());
      this.lastError = context.verdict.reason;
      return;
    }
    this.failedRuns = 0;
    this.lastError = undefined;
    if (context.verdict.promote) await this.promote(context);
    else recordRejection(this.options, context);
  }

  /** Saves the challenger, makes it current on disk, then swaps it in for predictions. */
  private async promote(context: PromotionContext): Promise<void> {
    const { config, logger } = this.options;
    const champion = await saveChampion(this.loaderDeps(), config, context);
    this.swapChampion(champion);
    recordPromotion(this.options, context, champion.meta.version);
    // The new champion is current on disk and in memory whatever pruning does.
    await this.store?.prune(config.keepVersions).catch((err: unknown) => {
      logger.warn({ err: String(err) }, "old model versions not pruned");
    });
  }

  private trainingFailed(err: unknown): void {
    if (!this.running) return;
    this.lastError = err instanceof Error ? err.message : String(err);
    recordFailure(this.options, this.lastError, this.backOff());
  }

  /** Starts the wait before the next run after a failed one; returns its length. */
  private backOff(): number {
    const { config, clock } = this.options;
    this.failedRuns++;
    const doubled = FAILED_RUN_BACKOFF_MS * 2 ** Math.min(this.failedRuns - 1, 20);
    const backoff = Math.min(doubled, config.retrainIntervalMs);
    this.backoffUntilMono = clock.monotonic() + backoff;
    return backoff;
  }

  // Champion

  private expected(): ExpectedInputs {
    this.expectedCache ??= expectedInputs(this.options.config, this.options.features);
    return this.expectedCache;
  }

  private loaderDeps(): LoaderDeps {
    const { logger, events, clock } = this.options;
    const tf = (this.runtime as TfRuntime).tf;
    return {
      store: this.store as ModelStore,
      tf,
      expected: this.expected(),
      logger,
      events,
      clock,
    };
  }

  /** The stored champion, or an older usable version; none stops the gateway. */
  private async loadStoredChampion(): Promise<void> {
    const { logger, config, clock } = this.options;
    const champion = await loadChampion(this.loaderDeps());
    if (!champion) {
      logger.info("no usable trained model on disk yet");
      return;
    }
    this.swapChampion(champion);
    // Carry the schedule over the restart: retrain when the loaded model falls due.
    const age = Math.max(0, clock.now() - champion.meta.createdTs);
    this.nextTrainMono = clock.monotonic() + Math.max(0, config.retrainIntervalMs - age);
    logger.info(
      { version: champion.meta.version, holdoutMae: champion.meta.holdoutMae },
      "loaded model",
    );
  }

  private swapChampion(next: Champion): void {
    if (this.stopping) {
      // stop() ran while this model was being loaded.
      next.network.dispose();
      return;
    }
    const previous = this.champion;
    this.champion = next;
    this.championSwaps++;
    // The detector measured the previous model's errors, not this one's.
    this.drift?.reset();
    previous?.network.dispose();
  }
}
