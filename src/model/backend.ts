// TensorFlow.js runs on whichever backend this device can load: the native tfjs-node
// (an optional dependency whose install downloads libtensorflow, so often absent), else
// WebAssembly (about twice as fast as plain JS here), else plain JS. Each thread has its own
// tf engine, so the main thread and the training worker each call initBackend once.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";

export type Tf = typeof tf;
export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface TfRuntime {
  tf: Tf;
  backend: BackendName;
}

export const defaultBackendOrder: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let runtime: Promise<TfRuntime> | undefined;

/**
 * Picks and initialises the first backend of `order` that loads. The first call in a thread
 * decides; later calls get the same runtime whatever order they pass.
 */
export function initBackend(
  order: readonly BackendName[] = defaultBackendOrder,
): Promise<TfRuntime> {
  runtime ??= pickBackend(order);
  return runtime;
}

async function pickBackend(order: readonly BackendName[]): Promise<TfRuntime> {
  for (const backend of order) {
    if (await tryBackend(backend)) {
      await tf.ready();
      return { tf, backend };
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (tried ${order.join(", ")})`);
}

async function tryBackend(backend: BackendName): Promise<boolean> {
  try {
    if (backend === "tensorflow") await loadNative();
    if (backend === "wasm") await loadWasm();
    return await tf.setBackend(backend);
  } catch {
    return false;
  }
}

async function loadNative(): Promise<void> {
  // A variable specifier keeps tsc from requiring the optional package's types; importing
  // it registers the "tensorflow" backend with the shared tfjs-core.
  const specifier = "@tensorflow/tfjs-node";
  await import(specifier);
}

async function loadWasm(): Promise<void> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The Node build finds its .wasm files beside its own script today, but a bundled or
  // relocated build would not; pointing at the package's dist/ keeps the lookup explicit.
  wasm.setWasmPaths(wasmDir());
}

/** The package's dist/ folder, where the .wasm binaries ship, ending in a separator. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "/");
}
