// The training thread. Fitting a network takes seconds of solid CPU, which on the main
// thread would stall polling and alarms; here it only competes for a core. The thread stays
// up between runs so the tf backend is initialised once.

import { parentPort, workerData } from "node:worker_threads";
import { type BackendName, initBackend } from "./backend.js";
import { trainModel } from "./fit.js";
import type { TrainRequest, TrainResult } from "./types.js";

export interface WorkerRequest {
  id: number;
  request: TrainRequest;
}

/** What the trainer hands the thread at its start. */
export interface WorkerData {
  /** The backends to try, in order; default: tensorflow, wasm, cpu. */
  backendOrder?: readonly BackendName[];
}

export type WorkerMessage =
  | { kind: "ready"; backend: string }
  | { kind: "failed"; error: string }
  | { kind: "result"; id: number; result: TrainResult }
  | { kind: "error"; id: number; error: string };

const port = parentPort;
if (!port) throw new Error("train-worker.js must run in a worker thread");

try {
  const runtime = await initBackend((workerData as WorkerData | undefined)?.backendOrder);
  port.on("message", (msg: WorkerRequest) => {
    // Runs are queued by the trainer one at a time, so no two fits share the engine.
    trainModel(runtime, msg.request).then(
      (result) => post({ kind: "result", id: msg.id, result }, [result.files.weightData]),
      (err: unknown) => post({ kind: "error", id: msg.id, error: describe(err) }),
    );
  });
  post({ kind: "ready", backend: runtime.backend });
} catch (err) {
  post({ kind: "failed", error: describe(err) });
}

function post(msg: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
