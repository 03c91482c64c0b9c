// Speed of learning on the gateway: one retrain on a 10,000-row window in the training
// worker, one prediction on the main thread, and what a retrain does to a real poller's
// cadence — a 10 ms group polled from the fast server while the worker trains, against the
// same poller idle for as long.

import { connectionSchema, type ModelConfig } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import type { TfRuntime } from "../model/backend.js";
import { denseForward, loadNetwork, predictRows } from "../model/network.js";
import { Trainer } from "../model/trainer.js";
import type { TrainResult } from "../model/types.js";
import { scaleRow, unscaleValue } from "../preprocess/scaler.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { forkFastServer } from "./fast-server.js";
import type { Regression } from "./learning-data.js";
import { fitOls, predictLinear, quantile } from "./learning-math.js";

export const WINDOW_ROWS = 10_000;
export const POLL_INTERVAL_MS = 10;
const PREDICTIONS = 2000;
const HOLDOUT_FRACTION = 0.2;

export interface SpeedFigures {
  backend: string;
  retrainMs: number;
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
  const server = await forkFastServer();
  const trainer = new Trainer({ logger: silentLogger() });
  try {
    const backend = await trainer.start();
    const request = {
      ...window,
      features: data.features,
      model,
      holdoutFraction: HOLDOUT_FRACTION,
    };
    const training = await pollGaps(server.port, () => trainer.train(request));
    const idle = await pollGaps(server.port, () => sleep(training.ms));
    const latency = await predictLatency(runtime, training.value, window);
    return {
      backend,
      retrainMs: training.value.metrics.trainMs,
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
  }
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
