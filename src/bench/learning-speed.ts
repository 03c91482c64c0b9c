// Speed of learning on the gateway: one retrain on a 10,000-row window as the daemon runs
// it — the window read from a real SQLite buffer and built into rows on the main thread
// (TrainingSet.build), then fitted in the training worker — one prediction on the main
// thread, and what a retrain does to a real poller's cadence: a 10 ms group polled from the
// fast server while the retrain runs, against the same poller idle for as long.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connectionSchema,
  learningSchema,
  type ModelConfig,
  storeSchema,
} from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import type { Reading } from "../core/reading.js";
import type { TfRuntime } from "../model/backend.js";
import { StoreBadReadings } from "../model/bad-readings.js";
import { denseForward, loadNetwork, predictRows } from "../model/network.js";
import { Trainer } from "../model/trainer.js";
import { TrainingSet } from "../model/training-set.js";
import type { TrainResult } from "../model/types.js";
import { scaleRow, unscaleValue } from "../preprocess/scaler.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { Store } from "../store/store.js";
import { forkFastServer } from "./fast-server.js";
import type { Regression } from "./learning-data.js";
import { ErrorSum, type Errors, fitOls, predictLinear, quantile } from "./learning-math.js";

export const WINDOW_ROWS = 10_000;
export const POLL_INTERVAL_MS = 10;
const PREDICTIONS = 2000;
const GRID_MS = 1000;
/** The window's readings: one per tag per second, the last one just before NOW. */
const T0 = 1_700_000_000_000;
const NOW = T0 + WINDOW_ROWS * GRID_MS;

export interface SpeedFigures {
  backend: string;
  /** The whole retrain: read and build on the main thread, fit in the worker. */
  retrainMs: number;
  readMs: number;
  fitMs: number;
  /** The retrain's model and OLS on the same holdout (the window's newest 20%). */
  holdout: Errors;
  olsHoldout: Errors;
  olsMs: number;
  predictP99Ms: number;
  dotP99Ms: number;
  idleGapP99Ms: number;
  trainingGapP99Ms: number;
  idleCycles: number;
  trainingCycles: number;
}

/** The first WINDOW_ROWS rows of the data, wrapping round when it has fewer. */
export function windowOf(data: Regression): { x: number[][]; y: number[] } {
  const at = (i: number) => i % data.x.length;
  return {
    x: Array.from({ length: WINDOW_ROWS }, (_, i) => data.x[at(i)] as number[]),
    y: Array.from({ length: WINDOW_ROWS }, (_, i) => data.y[at(i)] as number),
  };
}

export async function speedBench(
  runtime: TfRuntime,
  data: Regression,
  model: ModelConfig,
): Promise<SpeedFigures> {
  const window = windowOf(data);
  const dir = mkdtempSync(join(tmpdir(), "pg-bench-learn-"));
  const server = await forkFastServer();
  const trainer = new Trainer({ logger: silentLogger() });
  const buffer = await bufferOf(join(dir, "plantgate.db"), data, window);
  try {
    const backend = await trainer.start();
    const retrain = retrainer(buffer, data, model, trainer);
    const training = await pollGaps(server.port, retrain);
    const idle = await pollGaps(server.port, () => sleep(training.ms));
    const { result } = training.value;
    const latency = await predictLatency(runtime, result, window);
    return {
      backend,
      ...training.value.times,
      ...holdoutErrors(result, window),
      olsMs: timeOls(window),
      ...latency,
      idleGapP99Ms: quantile(idle.gaps, 0.99),
      trainingGapP99Ms: quantile(training.gaps, 0.99),
      idleCycles: idle.gaps.length,
      trainingCycles: training.gaps.length,
    };
  } finally {
    await trainer.stop();
    await server.stop();
    await buffer.store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CCPP's tags as the daemon would name them: `plant.AT`, …, `plant.PE`. */
const tagName = (column: string) => `plant.${column}`;

/** A real buffer holding the window: one reading per tag per second. */
async function bufferOf(path: string, data: Regression, window: { x: number[][]; y: number[] }) {
  const names = [...data.features, data.target].map(tagName);
  const tags = names.map((name) => ({ name, device: "plant", type: "float32" }));
  const clock = { now: () => NOW, monotonic: () => performance.now() };
  const config = storeSchema.parse({});
  const store = new Store({ path, config, tags, clock, logger: silentLogger() });
  await store.start();
  window.x.forEach((row, i) => {
    const ts = T0 + i * GRID_MS + 100;
    const values = [...row, window.y[i] as number];
    const readings: Reading[] = names.map((tag, c) => ({
      tag,
      ts,
      value: values[c] as number,
      quality: { status: "good" },
    }));
    store.write(readings);
  });
  store.flush();
  return { store, path };
}

/** One retrain as the learner runs it, timed in its two parts. */
function retrainer(
  buffer: { store: Store; path: string },
  data: Regression,
  model: ModelConfig,
  trainer: Trainer,
) {
  const config = learningSchema.parse({
    target: tagName(data.target),
    gridMs: GRID_MS,
    windowRows: WINDOW_ROWS,
    // The window is all the history there is: no older rows to sample.
    reservoirRows: 0,
    model,
  });
  const set = new TrainingSet({
    config,
    features: data.features.map(tagName),
    history: buffer.store,
    badReadings: new StoreBadReadings(buffer.path),
    logger: silentLogger(),
  });
  return async () => {
    const t0 = performance.now();
    const rows = await set.build(NOW - 1);
    const t1 = performance.now();
    if (rows.windowRows !== WINDOW_ROWS) throw new Error(`window of ${rows.windowRows} rows`);
    const result = await trainer.train({ ...rows.request, band: config.band });
    const t2 = performance.now();
    const times = { retrainMs: t2 - t0, readMs: t1 - t0, fitMs: t2 - t1 };
    return { result, times };
  };
}

/** The retrain's model against OLS fitted on the same rows, on the same newest 20%. */
function holdoutErrors(
  result: TrainResult,
  window: { x: number[][]; y: number[] },
): { holdout: Errors; olsHoldout: Errors } {
  const cut = window.x.length - result.metrics.holdoutRows;
  const line = fitOls(window.x.slice(0, cut), window.y.slice(0, cut));
  const ols = new ErrorSum();
  for (let i = cut; i < window.x.length; i++) {
    ols.add(predictLinear(line, window.x[i] as number[]), window.y[i] as number);
  }
  const { holdoutMae: mae, holdoutRmse: rmse, holdoutRows: count } = result.metrics;
  return { holdout: { mae, rmse, count }, olsHoldout: ols.errors() };
}

/**
 * Polls one 10 ms group of four registers while `during` runs; returns the gaps between
 * consecutive cycles as the sink sees them (one request per cycle, so one batch each).
 */
async function pollGaps<T>(
  port: number,
  during: () => Promise<T>,
): Promise<{ value: T; gaps: number[]; ms: number }> {
  const connection = connectionSchema.parse({
    name: "bench",
    host: "127.0.0.1",
    port,
    devices: [{ name: "d", groups: [pollGroup()] }],
  });
  const stamps: number[] = [];
  const sink = { write: () => void stamps.push(performance.now()) };
  const events = { event: () => undefined };
  const deps = { sink, events, clock: systemClock, logger: silentLogger() };
  const { transport, poller } = createModbusSource(connection, deps);
  await transport.start();
  await poller.start();
  await sleep(200); // connection up and the cadence settled before measuring
  const from = stamps.length;
  const t0 = performance.now();
  const value = await during();
  const ms = performance.now() - t0;
  const until = stamps.length;
  await poller.stop();
  await transport.stop();
  const gaps = stamps
    .slice(from, until)
    .map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] as number)));
  return { value, gaps: gaps.slice(1), ms };
}

function pollGroup() {
  return {
    name: "g",
    pollIntervalMs: POLL_INTERVAL_MS,
    tags: [0, 2].map((address) => ({
      name: `t${address}`,
      table: "holdingRegister",
      address,
      type: "float32",
    })),
  };
}

/** p99 of one-row predictions the learner's way, against a JS dot product with OLS weights. */
async function predictLatency(
  runtime: TfRuntime,
  trained: TrainResult,
  window: { x: number[][]; y: number[] },
): Promise<{ predictP99Ms: number; dotP99Ms: number }> {
  const network = await loadNetwork(runtime.tf, trained.files);
  // The learner's way: the dense stack as plain arithmetic, else tfjs.
  const forward =
    denseForward(network) ??
    ((row: number[]) => predictRows(runtime.tf, network, [row])[0] as number);
  const { features, target } = trained.scalers;
  const line = fitOls(window.x, window.y);
  const model: number[] = [];
  const dot: number[] = [];
  let sink = 0;
  try {
    for (let i = 0; i < PREDICTIONS + 100; i++) {
      const row = window.x[i % window.x.length] as number[];
      const t0 = performance.now();
      sink += unscaleValue(target, forward(scaleRow(features, row)));
      const t1 = performance.now();
      sink += predictLinear(line, row);
      const t2 = performance.now();
      // The first hundred warm the engine and the JIT up.
      if (i >= 100) model.push(t1 - t0);
      if (i >= 100) dot.push(t2 - t1);
    }
  } finally {
    network.dispose();
  }
  if (!Number.isFinite(sink)) throw new Error("a prediction was not finite");
  return { predictP99Ms: quantile(model, 0.99), dotP99Ms: quantile(dot, 0.99) };
}

/** Median of five closed-form fits of the same window. */
function timeOls(window: { x: number[][]; y: number[] }): number {
  const times = Array.from({ length: 5 }, () => {
    const t0 = performance.now();
    fitOls(window.x, window.y);
    return performance.now() - t0;
  });
  return quantile(times, 0.5);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
