// Learns the target tag from the other tags on the device: trains in a worker thread when
// enough aligned history exists and again on a schedule, keeps the champion on disk so a
// restart continues with it, and predicts on the main thread once per grid step.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { HistorySource, LatestSource, Prediction, RecentSource } from "../core/series.js";
import { alignToGrid } from "../preprocess/grid.js";
import { scaleRow, unscaleValue } from "../preprocess/scaler.js";
import { type BackendName, initBackend, type TfRuntime } from "./backend.js";
import { type ModelMeta, ModelStore, type StoredModel } from "./model-store.js";
import { type LayersModel, loadNetwork, predictRows } from "./network.js";
import { Trainer } from "./trainer.js";
import type { TrainRequest, TrainResult } from "./types.js";

export interface LearnerOptions {
  config: LearningConfig;
  /** Input tags in model column order. */
  features: string[];
  modelDir: string;
  history: HistorySource;
  latest: LatestSource;
  /** Recent readings not yet committed, for features over a window at inference. */
  recent?: RecentSource;
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

interface Champion {
  meta: ModelMeta;
  network: LayersModel;
  scalers: StoredModel["scalers"];
}

interface TrainingData {
  request: TrainRequest;
  fromTs: number;
  toTs: number;
}

const DEFAULT_TRAIN_CHECK_MS = 5000;
/** After a failed run, wait this long (or the retrain interval if shorter) to try again. */
const FAILED_RUN_BACKOFF_MS = 60_000;

export class Learner implements Component {
  readonly name = "learner";
  private runtime: TfRuntime | undefined;
  private store: ModelStore | undefined;
  private trainer: Trainer | undefined;
  private champion: Champion | undefined;
  private running = false;
  private stopping = false;
  private trainTimer: NodeJS.Timeout | undefined;
  private predictTimer: NodeJS.Timeout | undefined;
  private nextTrainMono = 0;
  private predictions = 0;
  private lastError: string | undefined;

  constructor(private readonly options: LearnerOptions) {}

  async start(): Promise<void> {
    const { logger, modelDir, workerUrl } = this.options;
    this.stopping = false;
    this.runtime = await initBackend(this.options.backendOrder);
    logger.info({ backend: this.runtime.backend }, "tensorflow backend ready");

    this.store = new ModelStore(modelDir, logger);
    await this.loadChampion();

    this.trainer = new Trainer({ logger, workerUrl });
    const trainerBackend = await this.trainer.start();
    logger.debug({ backend: trainerBackend }, "training worker ready");

    this.running = true;
    this.scheduleTraining(0);
    this.predictTimer = setInterval(() => this.emitPrediction(), this.options.config.gridMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.trainTimer);
    clearInterval(this.predictTimer);
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
      backend: this.runtime?.backend,
      lastError: this.lastError,
    };
  }

  /**
   * The prediction for the newest inputs, or undefined without a model or when any input is
   * stale: an input older than the grid's fill reach would describe a plant state that no
   * longer holds, and a prediction from it could raise or hide an alarm.
   */
  predictNow(): Prediction | undefined {
    const { champion, runtime } = this;
    if (!champion || !runtime) return undefined;
    const { config, features, latest, clock } = this.options;
    const now = clock.now();
    const maxAge = config.maxFillSteps * config.gridMs + config.gridMs;

    const row: number[] = [];
    for (const tag of features) {
      const reading = latest.latest(tag);
      if (!reading || now - reading.ts > maxAge) return undefined;
      row.push(reading.value);
    }

    const scaled = scaleRow(champion.scalers.features, row);
    const [out] = predictRows(runtime.tf, champion.network, [scaled]);
    const value = unscaleValue(champion.scalers.target, out ?? Number.NaN);
    if (!Number.isFinite(value)) return undefined;
    return { ts: now, target: config.target, value, modelVersion: champion.meta.version };
  }

  private emitPrediction(): void {
    try {
      const prediction = this.predictNow();
      if (prediction) this.predictions++;
      this.options.onPrediction(prediction);
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

  private async trainIfDue(): Promise<void> {
    if (this.champion && this.options.clock.monotonic() < this.nextTrainMono) return;
    const { config, logger } = this.options;
    const data = this.trainingData();
    const rows = data.request.x.length;
    if (rows < config.minRows) {
      logger.debug({ rows, minRows: config.minRows }, "not enough aligned rows to train");
      return;
    }

    const trainer = this.trainer;
    if (!trainer) return;
    const result = await trainer.train(data.request);
    if (!this.running) return;
    this.nextTrainMono = this.options.clock.monotonic() + config.retrainIntervalMs;
    if (!Number.isFinite(result.metrics.holdoutMae)) {
      this.reject(result, "holdout error is not finite (training diverged)");
      return;
    }
    await this.promote(result, data);
    this.lastError = undefined;
  }

  /** The newest windowRows aligned rows of features and target, oldest first. */
  private trainingData(): TrainingData {
    const { config, features, history, clock } = this.options;
    const toTs = clock.now() + 1;
    const fromTs = toTs - config.windowRows * config.gridMs;
    const tags = [...features, config.target];
    // LIMITATION: the history read and the alignment run on the main thread; at the default
    // 20000-row window that is tens of milliseconds. Moving both into the worker (with its
    // own read-only database handle) would lift it.
    const aligned = alignToGrid(tags, history.history(tags, fromTs, toTs), config);
    const rows = aligned.rows.slice(-config.windowRows);
    const ts = aligned.ts.slice(-config.windowRows);
    this.options.logger.debug(
      { rows: rows.length, filled: aligned.filledRows, dropped: aligned.droppedRows },
      "aligned training rows",
    );
    const request: TrainRequest = {
      x: rows.map((r) => r.slice(0, features.length)),
      y: rows.map((r) => r[features.length] as number),
      features: [...features],
      model: config.model,
      holdoutFraction: config.holdoutFraction,
    };
    return { request, fromTs: ts[0] ?? fromTs, toTs: ts.at(-1) ?? toTs };
  }

  /** Saves the new model, makes it current on disk, then swaps it in for predictions. */
  private async promote(result: TrainResult, data: TrainingData): Promise<void> {
    const { config, logger, events, clock } = this.options;
    const store = this.store as ModelStore;
    const runtime = this.runtime as TfRuntime;
    const { metrics } = result;
    const meta = {
      createdTs: clock.now(),
      features: data.request.features,
      target: config.target,
      holdoutMae: metrics.holdoutMae,
      holdoutRmse: metrics.holdoutRmse,
      trainRows: metrics.trainRows,
      holdoutRows: metrics.holdoutRows,
      dataFromTs: data.fromTs,
      dataToTs: data.toTs,
      model: config.model,
      backend: result.backend,
      trainMs: metrics.trainMs,
    };
    // LIMITATION: a new model always replaces the champion if its error is finite. Scoring
    // the champion on the same holdout rows and keeping the better one would guard against
    // a run on unlucky data; that needs the champion's weights in the worker.
    // Load before saving: a model that does not load back must not become current.
    const network = await loadNetwork(runtime.tf, result.files);
    const version = await store.save({ files: result.files, scalers: result.scalers, meta });
    await store.setCurrent(version);
    this.swapChampion({ meta: { ...meta, version }, network, scalers: result.scalers });
    await store.prune(config.keepVersions);

    const rows = metrics.trainRows + metrics.holdoutRows;
    const fields = { version, holdoutMae: metrics.holdoutMae, holdoutRmse: metrics.holdoutRmse };
    logger.info({ ...fields, rows, trainMs: metrics.trainMs }, "model trained");
    events.event({
      ts: clock.now(),
      kind: "model.promoted",
      source: this.name,
      message: `model ${version} promoted`,
      data: { ...fields, rows, trainMs: metrics.trainMs, backend: result.backend },
    });
  }

  private reject(result: TrainResult, reason: string): void {
    const { logger, events, clock } = this.options;
    this.lastError = reason;
    logger.warn({ reason, holdoutMae: result.metrics.holdoutMae }, "model rejected");
    events.event({
      ts: clock.now(),
      kind: "model.rejected",
      source: this.name,
      message: `model rejected: ${reason}`,
      data: { ...result.metrics },
    });
  }

  private trainingFailed(err: unknown): void {
    if (!this.running) return;
    const { config, logger, clock } = this.options;
    this.lastError = err instanceof Error ? err.message : String(err);
    const backoff = Math.min(FAILED_RUN_BACKOFF_MS, config.retrainIntervalMs);
    this.nextTrainMono = clock.monotonic() + backoff;
    logger.error({ err: this.lastError, retryInMs: backoff }, "training failed");
  }

  // Champion

  private async loadChampion(): Promise<void> {
    const { logger, features, config, clock } = this.options;
    const stored = await (this.store as ModelStore).loadCurrent();
    if (!stored) {
      logger.info("no trained model on disk yet");
      return;
    }
    const { meta } = stored;
    if (meta.target !== config.target || meta.features.join("\n") !== features.join("\n")) {
      logger.warn({ version: meta.version }, "model on disk has other inputs; will retrain");
      return;
    }
    const network = await loadNetwork((this.runtime as TfRuntime).tf, stored.files);
    this.swapChampion({ meta, network, scalers: stored.scalers });
    // Carry the schedule over the restart: retrain when the loaded model falls due.
    const age = Math.max(0, clock.now() - meta.createdTs);
    this.nextTrainMono = clock.monotonic() + Math.max(0, config.retrainIntervalMs - age);
    logger.info({ version: meta.version, holdoutMae: meta.holdoutMae }, "loaded model");
  }

  private swapChampion(next: Champion): void {
    if (this.stopping) {
      // stop() ran while this model was being loaded.
      next.network.dispose();
      return;
    }
    const previous = this.champion;
    this.champion = next;
    previous?.network.dispose();
  }
}
