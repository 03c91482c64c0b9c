// Learns the target tag from the other tags on the device: trains a challenger in a worker
// thread when enough aligned history exists, then on a schedule, after enough new rows or
// on drift; keeps it only if it beats the champion on the same holdout; keeps the champion
// on disk so a restart continues with it, and predicts on the main thread every grid step.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { HistorySource, LatestSource, Prediction, RecentSource } from "../core/series.js";
import { buildDataset, datasetTags, inferenceSpan } from "../preprocess/dataset.js";
import { scaleRow, unscaleValue } from "../preprocess/scaler.js";
import type { AlarmSpanSource } from "./alarm-spans.js";
import { type BackendName, initBackend, type TfRuntime } from "./backend.js";
import {
  type Champion,
  championInput,
  type ExpectedInputs,
  expectedInputs,
  incompatibility,
  ModelRefusedError,
  modelTags,
} from "./champion.js";
import { CounterMemory } from "./counter-memory.js";
import { DriftWatch } from "./drift-watch.js";
import { ModelStore, type StoredModel } from "./model-store.js";
import { denseForward, loadNetwork, predictRows } from "./network.js";
import { judgeChallenger } from "./promotion.js";
import { type PromotionContext, recordPromotion, recordRejection } from "./records.js";
import { Trainer } from "./trainer.js";
import { TrainingSet } from "./training-set.js";

export interface LearnerOptions {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  modelDir: string;
  history: HistorySource;
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
/** After a failed run, wait this long (or the retrain interval if shorter) to try again. */
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
  private nextTrainMono = 0;
  private backoffUntilMono = 0;
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
    this.trainingSet = new TrainingSet({ config, features, history, alarmSpans, logger });
    this.drift = new DriftWatch(config, () => this.champion?.meta.version, this.options);
    this.drift.onDrift = () => this.requestRetrain("drift");
    await this.loadChampion();

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
      lastError: this.lastError,
    };
  }

  /**
   * The prediction for the newest complete grid cell, or undefined without a model or when
   * any input is stale: an input older than the grid's fill reach would describe a plant
   * state that no longer holds, and a prediction from it could raise or hide an alarm.
   */
  predictNow(): Prediction | undefined {
    const { champion, runtime } = this;
    if (!champion || !runtime) return undefined;
    const input = this.options.recent ? this.datasetRow() : this.latestRow();
    if (!input) return undefined;

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

  /** The row the dataset builds for the newest complete cell, as training built its rows. */
  private datasetRow(): { ts: number; row: number[] } | undefined {
    const { config, features, recent, clock } = this.options;
    const span = inferenceSpan(config, clock.now());
    const tags = datasetTags(config, features);
    const series = recent?.recent(tags, span.fromTs) ?? new Map();
    const dataset = buildDataset(series, config, features, this.counters?.state ?? {}, {
      untilTs: span.untilTs,
    });
    if (this.counters) this.counters.state = dataset.counterState;
    // Target values of recent cells, for the drift watch: a formula target exists only here.
    this.drift?.actuals(dataset.ts, dataset.y);
    const row = dataset.X.at(-1);
    // A newest row for an older cell means an input is stale.
    if (!row || dataset.ts.at(-1) !== span.rowTs) return undefined;
    return { ts: span.rowTs, row };
  }

  /**
   * Without a recent span (tests, tools), plain latest values stand in: valid only while
   * the columns are the feature tags themselves (no counters, formula or derived columns).
   */
  private latestRow(): { ts: number; row: number[] } | undefined {
    const { config, features, latest, clock } = this.options;
    if (this.expected().columns.length !== features.length) return undefined;
    const now = clock.now();
    const maxAge = config.maxFillSteps * config.gridMs + config.gridMs;
    const row: number[] = [];
    for (const tag of features) {
      const reading = latest.latest(tag);
      if (!reading || now - reading.ts > maxAge) return undefined;
      row.push(reading.value);
    }
    return { ts: now, row };
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
    const champion = await this.toChampion(await store.load(version));
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
    const { trainer, trainingSet } = this;
    if (!trigger || !trainer || !trainingSet) return;
    const started = clock.monotonic();
    const data = await trainingSet.build(clock.now());
    logger.debug(
      { rows: data.windowRows, ms: Math.round(clock.monotonic() - started) },
      "training rows read",
    );
    if (data.windowRows < config.minRows) {
      logger.debug({ rows: data.windowRows, minRows: config.minRows }, "too few rows to train");
      return;
    }

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
    const context: PromotionContext = { result, data, trigger, verdict, champion: champion?.meta };
    if (!verdict.promote) {
      recordRejection(this.options, context);
      return;
    }
    await this.promote(context);
    this.lastError = undefined;
  }

  /** Saves the challenger, makes it current on disk, then swaps it in for predictions. */
  private async promote(context: PromotionContext): Promise<void> {
    const { config, clock } = this.options;
    const { result, data } = context;
    const store = this.store as ModelStore;
    const runtime = this.runtime as TfRuntime;
    const expected = this.expected();
    const { metrics } = result;
    const meta = {
      createdTs: clock.now(),
      features: data.request.features,
      target: config.target,
      tags: expected.tags,
      columns: expected.columns,
      holdoutMae: metrics.holdoutMae,
      holdoutRmse: metrics.holdoutRmse,
      trainRows: metrics.trainRows,
      holdoutRows: metrics.holdoutRows,
      windowRows: data.windowRows,
      reservoirRows: data.reservoirRows,
      dataFromTs: data.fromTs,
      dataToTs: data.toTs,
      band: result.band && { ...result.band, quantiles: config.band },
      warmStarted: result.warmStarted,
      model: config.model,
      backend: result.backend,
      trainMs: metrics.trainMs,
    };
    // Load before saving: a model that does not load back must not become current.
    const network = await loadNetwork(runtime.tf, result.files);
    const version = await store.save({ files: result.files, scalers: result.scalers, meta });
    await store.setCurrent(version);
    const { files, scalers } = result;
    const forward = denseForward(network);
    this.swapChampion({ meta: { ...meta, version }, network, forward, scalers, files });
    await store.prune(config.keepVersions);
    recordPromotion(this.options, context, version);
  }

  private trainingFailed(err: unknown): void {
    if (!this.running) return;
    const { config, logger, clock } = this.options;
    this.lastError = err instanceof Error ? err.message : String(err);
    const backoff = Math.min(FAILED_RUN_BACKOFF_MS, config.retrainIntervalMs);
    this.backoffUntilMono = clock.monotonic() + backoff;
    logger.error({ err: this.lastError, retryInMs: backoff }, "training failed");
  }

  // Champion

  private expected(): ExpectedInputs {
    this.expectedCache ??= expectedInputs(this.options.config, this.options.features);
    return this.expectedCache;
  }

  private async loadChampion(): Promise<void> {
    const { logger, config, clock } = this.options;
    const stored = await (this.store as ModelStore).loadCurrent();
    if (!stored) {
      logger.info("no trained model on disk yet");
      return;
    }
    let champion: Champion;
    try {
      champion = await this.toChampion(stored);
    } catch (err) {
      if (!(err instanceof ModelRefusedError)) throw err;
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

  /** Checks a stored model against the config and builds its network. */
  private async toChampion(stored: StoredModel): Promise<Champion> {
    const { meta } = stored;
    const why = incompatibility(meta, this.expected());
    if (why) {
      this.options.logger.warn(
        { version: meta.version, modelTags: modelTags(meta), configTags: this.expected().tags },
        `model refused: ${why}; a new one will be trained`,
      );
      throw new ModelRefusedError(meta.version, why);
    }
    const network = await loadNetwork((this.runtime as TfRuntime).tf, stored.files);
    const forward = denseForward(network);
    return { meta, network, forward, scalers: stored.scalers, files: stored.files };
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
