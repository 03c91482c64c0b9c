// The main thread's handle on the training worker: starts it, sends one training run at a
// time and turns the replies into promises. A crashed worker fails the run in flight and is
// started again for the next one.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "../core/logger.js";
import type { BackendName } from "./backend.js";
import type { WorkerData, WorkerMessage, WorkerRequest } from "./train-worker.js";
import type { TrainRequest, TrainResult } from "./types.js";

export interface TrainerOptions {
  logger: Logger;
  /** The compiled train-worker.js; default: beside this file, else in dist/. */
  workerUrl?: URL;
  /** The backends the worker tries, in order, as the main thread does. */
  backendOrder?: readonly BackendName[];
}

interface Pending {
  resolve: (result: TrainResult) => void;
  reject: (err: Error) => void;
}

/**
 * The worker must be compiled JS. In production this file is dist/model/trainer.js and the
 * worker sits beside it; under vitest this file is the .ts source, so look in dist/ (the
 * `pretest` script builds it).
 */
export function resolveWorkerUrl(): URL {
  const candidates = [
    new URL("./train-worker.js", import.meta.url),
    new URL("../../dist/model/train-worker.js", import.meta.url),
  ];
  const found = candidates.find((url) => existsSync(fileURLToPath(url)));
  if (!found) {
    const tried = candidates.map((u) => fileURLToPath(u)).join(", ");
    throw new Error(`training worker not found (tried ${tried}); run \`npm run build\``);
  }
  return found;
}

export class Trainer {
  private worker: Worker | undefined;
  private ready: Promise<string> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped = false;
  private queue: Promise<unknown> = Promise.resolve();
  backend: string | undefined;

  constructor(private readonly options: TrainerOptions) {}

  /** Starts the worker and waits until its tf backend is up; returns the backend name. */
  start(): Promise<string> {
    this.stopped = false;
    this.ready ??= this.spawn();
    return this.ready;
  }

  /** Queues a training run; runs never overlap. */
  train(request: TrainRequest): Promise<TrainResult> {
    const run = this.queue.then(() => this.runOnce(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.stopped = true;
    this.worker = undefined;
    this.ready = undefined;
    this.failAll(new Error("trainer stopped"));
    if (worker) await worker.terminate();
  }

  private async runOnce(request: TrainRequest): Promise<TrainResult> {
    // A run queued before stop() must not bring the worker back.
    if (this.stopped) throw new Error("trainer stopped");
    this.ready ??= this.spawn();
    await this.ready;
    const worker = this.worker;
    if (!worker) throw new Error("training worker is not running");
    const id = this.nextId++;
    return new Promise<TrainResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, request } satisfies WorkerRequest);
    });
  }

  private spawn(): Promise<string> {
    const url = this.options.workerUrl ?? resolveWorkerUrl();
    const workerData: WorkerData = { backendOrder: this.options.backendOrder };
    const worker = new Worker(url, { workerData });
    this.worker = worker;
    return new Promise<string>((resolve, reject) => {
      worker.on("message", (msg: WorkerMessage) => {
        if (msg.kind === "ready") {
          this.backend = msg.backend;
          resolve(msg.backend);
        } else if (msg.kind === "failed") {
          reject(new Error(`training worker failed to start: ${msg.error}`));
        } else {
          this.settle(msg);
        }
      });
      worker.on("error", (err) => {
        this.options.logger.error({ err: err.message }, "training worker crashed");
        this.lost(worker, err);
        reject(err);
      });
      worker.on("exit", (code) => {
        const err = new Error(`training worker exited with code ${code}`);
        this.lost(worker, err);
        reject(err);
      });
    });
  }

  private settle(msg: Extract<WorkerMessage, { id: number }>): void {
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    this.pending.delete(msg.id);
    if (msg.kind === "result") pending.resolve(msg.result);
    else pending.reject(new Error(`training failed: ${msg.error}`));
  }

  /** Forgets a dead worker so the next run starts a fresh one. */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = undefined;
    this.failAll(err);
  }

  private failAll(err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
