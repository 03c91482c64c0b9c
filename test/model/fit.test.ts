import { describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import { buildModel } from "../../src/model/architecture.js";
import type { Tf } from "../../src/model/backend.js";
import { initBackend } from "../../src/model/backend.js";
import { epochsFor, splitChronological, trainModel } from "../../src/model/fit.js";
import { denseForward, loadNetwork, predictRows } from "../../src/model/network.js";
import { batchSizes, rateAt, trainLoop } from "../../src/model/train-loop.js";
import type { ModelFiles } from "../../src/model/types.js";
import { scaleRow, unscaleValue } from "../../src/preprocess/scaler.js";

/** y = 3a - 2b + 50 with a little deterministic noise. */
function linearData(n: number) {
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = Math.sin(i * 0.37) * 10;
    const b = Math.cos(i * 0.11) * 5 + 20;
    x.push([a, b]);
    y.push(3 * a - 2 * b + 50 + Math.sin(i * 7.1) * 0.1);
  }
  return { x, y };
}

describe("splitChronological", () => {
  it("holds out the newest rows", () => {
    const x = [[1], [2], [3], [4], [5]];
    const split = splitChronological({
      x,
      y: [1, 2, 3, 4, 5],
      features: ["a"],
      model: learningSchema.parse({ target: "y" }).model,
      holdoutFraction: 0.4,
    });

    expect(split.xTrain).toEqual([[1], [2], [3]]);
    expect(split.yHoldout).toEqual([4, 5]);
  });
});

describe("trainModel", () => {
  it("learns a linear relation, measures in target units, frees its tensors", async () => {
    const runtime = await initBackend();
    const model = learningSchema.parse({
      target: "y",
      model: { kind: "linear", epochs: 60, batchSize: 32, learningRate: 0.05 },
    }).model;
    const before = runtime.tf.memory().numTensors;
    const { x, y } = linearData(400);

    const result = await trainModel(runtime, {
      x,
      y,
      features: ["a", "b"],
      model,
      holdoutFraction: 0.2,
    });

    expect(runtime.tf.memory().numTensors).toBe(before);
    expect(result.metrics.trainRows).toBe(320);
    expect(result.metrics.holdoutRows).toBe(80);
    expect(result.metrics.holdoutMae).toBeLessThan(0.5);
    expect(result.metrics.holdoutRmse).toBeGreaterThanOrEqual(result.metrics.holdoutMae);

    // The saved files rebuild a network that predicts the same relation.
    const network = await loadNetwork(runtime.tf, result.files);
    const scaled = scaleRow(result.scalers.features, [2, 10]);
    const [out] = predictRows(runtime.tf, network, [scaled]);
    network.dispose();
    expect(unscaleValue(result.scalers.target, out as number)).toBeCloseTo(36, 0);
  });
});

describe("warm start", () => {
  it("continues the champion's optimizer: its step count and moments carry over", async () => {
    const runtime = await initBackend();
    const model = learningSchema.parse({
      target: "y",
      model: { kind: "linear", epochs: 5, batchSize: 32, learningRate: 0.05 },
    }).model;
    const { x, y } = linearData(400);
    const base = { x, y, features: ["a", "b"], model, holdoutFraction: 0.2 };
    const before = runtime.tf.memory().numTensors;

    const first = await trainModel(runtime, base);
    // Adam: the step count, then a first and a second moment for the kernel and the bias.
    const state = first.files.optimizer ?? [];
    expect(state.map((w) => w.name)).toHaveLength(5);
    const steps = state.find((w) => w.name === "iter")?.values[0] ?? 0;
    expect(steps).toBe(5 * Math.ceil(320 / 32));

    const champion = { files: first.files, scalers: first.scalers, model, columns: ["a", "b"] };
    const second = await trainModel(runtime, { ...base, champion, warmStart: true });
    expect(second.warmStarted).toBe(true);
    const next = second.files.optimizer?.find((w) => w.name === "iter")?.values[0];
    expect(next).toBe(2 * steps);

    const cold = await trainModel(runtime, { ...base, champion, warmStart: false });
    expect(cold.files.optimizer?.find((w) => w.name === "iter")?.values[0]).toBe(steps);
    expect(runtime.tf.memory().numTensors).toBe(before);
  });
});

/** The squared weights of a trained network's kernels, summed. */
async function kernelSquares(tf: Tf, files: ModelFiles): Promise<number> {
  const network = await loadNetwork(tf, files);
  try {
    const kernels = network.getWeights().filter((w) => w.shape.length === 2);
    return kernels.reduce(
      (sum, k) => sum + Array.from(k.dataSync()).reduce((s, v) => s + v * v, 0),
      0,
    );
  } finally {
    network.dispose();
  }
}

describe("the training loop", () => {
  const base = (model: object) => ({
    ...linearData(400),
    features: ["a", "b"],
    model: learningSchema.parse({ target: "y", model }).model,
    holdoutFraction: 0.2,
  });

  it("applies L2: a large penalty shrinks the weights and costs accuracy", async () => {
    const runtime = await initBackend();
    const model = { kind: "mlp", hiddenUnits: [8], epochs: 30, batchSize: 32, learningRate: 0.02 };

    const plain = await trainModel(runtime, base({ ...model, l2: 0 }));
    const shrunk = await trainModel(runtime, base({ ...model, l2: 0.5 }));

    const plainSq = await kernelSquares(runtime.tf, plain.files);
    const shrunkSq = await kernelSquares(runtime.tf, shrunk.files);
    expect(shrunkSq).toBeLessThan(plainSq / 4);
    expect(shrunk.metrics.holdoutMae).toBeGreaterThan(plain.metrics.holdoutMae);
  });

  it("repeats a run from the same seed, and another seed gives other weights", async () => {
    const runtime = await initBackend();
    const model = { kind: "mlp", hiddenUnits: [8], epochs: 5 };
    const weights = (r: { files: ModelFiles }) => Array.from(new Float32Array(r.files.weightData));

    const first = await trainModel(runtime, { ...base(model), seed: 7 });
    const again = await trainModel(runtime, { ...base(model), seed: 7 });
    const other = await trainModel(runtime, { ...base(model), seed: 8 });

    expect(weights(again)).toEqual(weights(first));
    expect(weights(other)).not.toEqual(weights(first));
  });

  it("steps as tfjs's own Adam does, with the state tfjs saves", async () => {
    const runtime = await initBackend();
    const { tf } = runtime;
    const before = tf.memory().numTensors;
    const config = learningSchema.parse({
      target: "y",
      model: { hiddenUnits: [8], epochs: 20, batchSize: 32, learningRate: 0.02 },
    }).model;
    const { x, y } = linearData(200);
    const train = async (stock: boolean) => {
      const model = buildModel(tf, 2, config, 3);
      if (stock) {
        model.optimizer?.dispose();
        model.compile({ optimizer: tf.train.adam(config.learningRate), loss: "meanSquaredError" });
      }
      const xs = tf.tensor2d(x.map(([a, b]) => [(a as number) / 10, ((b as number) - 20) / 5]));
      const ys = tf.tensor2d(y.map((v) => [v / 30]));
      trainLoop(tf, model, { xs, ys, epochs: config.epochs, config, seed: 3 });
      const weights = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
      const state = await model.optimizer?.getWeights();
      const names = state?.map((w) => w.name);
      const steps = state?.find((w) => w.name === "iter")?.tensor.dataSync()[0];
      state?.find((w) => w.name === "iter")?.tensor.dispose();
      tf.dispose([xs, ys]);
      model.optimizer?.dispose();
      model.dispose();
      return { weights, names, steps };
    };

    const lean = await train(false);
    const stock = await train(true);

    expect(lean.steps).toBe(20 * Math.ceil(200 / 32));
    expect(lean.steps).toBe(stock.steps);
    expect(lean.names?.length).toBe(stock.names?.length);
    lean.weights.forEach((w, i) => expect(w).toBeCloseTo(stock.weights[i] as number, 4));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("runs the configured steps, in full batches and the rest", () => {
    expect(batchSizes(130, 64)).toEqual([64, 64, 2]);
    expect(batchSizes(128, 64)).toEqual([64, 64]);
  });

  it("with a cosine schedule falls from the rate to nearly 0 over the run", () => {
    const cosine = learningSchema.parse({
      target: "y",
      model: { learningRate: 0.02, learningRateSchedule: "cosine" },
    }).model;
    const constant = { ...cosine, learningRateSchedule: "constant" as const };

    expect(rateAt(cosine, 0, 100)).toBeCloseTo(0.02, 10);
    expect(rateAt(cosine, 50, 100)).toBeCloseTo(0.01, 10);
    expect(rateAt(cosine, 99, 100)).toBeLessThan(0.0001);
    expect(rateAt(constant, 99, 100)).toBe(0.02);
  });
});

describe("an ensemble", () => {
  it("averages members trained on their own errors, warm-starts like one network", async () => {
    const runtime = await initBackend();
    const before = runtime.tf.memory().numTensors;
    const model = learningSchema.parse({
      target: "y",
      model: { kind: "mlp", hiddenUnits: [8], epochs: 20, batchSize: 32, ensemble: 3 },
    }).model;
    const base = { ...linearData(400), features: ["a", "b"], model, holdoutFraction: 0.2 };

    const first = await trainModel(runtime, base);
    const network = await loadNetwork(runtime.tf, first.files);
    // Three members of two dense layers each, averaged.
    expect(network.layers.filter((l) => l.getClassName() === "Dense")).toHaveLength(6);
    expect(network.layers.at(-1)?.getClassName()).toBe("Average");
    network.dispose();
    expect(first.metrics.holdoutMae).toBeLessThan(1);

    const champion = { files: first.files, scalers: first.scalers, model, columns: ["a", "b"] };
    const second = await trainModel(runtime, { ...base, champion, warmStart: true });
    expect(second.warmStarted).toBe(true);
    const single = { ...model, ensemble: 1 };
    const other = await trainModel(runtime, { ...base, model: single, champion, warmStart: true });
    expect(other.warmStarted).toBe(false);
    expect(runtime.tf.memory().numTensors).toBe(before);
  });
});

describe("epochsFor", () => {
  const model = (epochs: number, batchSize: number, maxSteps: number) =>
    learningSchema.parse({ target: "y", model: { epochs, batchSize, maxSteps } }).model;

  it("keeps the configured epochs on small windows and caps the steps on large ones", () => {
    expect(epochsFor(1200, model(100, 64, 3000))).toBe(100); // 19 batches: 1,900 steps
    expect(epochsFor(8000, model(100, 64, 3000))).toBe(24); // 125 batches: 3,000 steps
    expect(epochsFor(1_000_000, model(100, 64, 3000))).toBe(1); // never none
  });
});

describe("denseForward", () => {
  it("predicts what tfjs predicts, for linear, MLP and ensemble networks", async () => {
    const runtime = await initBackend();
    const { x, y } = linearData(200);
    const kinds = [{ kind: "linear" }, { kind: "mlp" }, { kind: "mlp", ensemble: 3 }] as const;
    for (const kind of kinds) {
      const model = learningSchema.parse({
        target: "y",
        model: { ...kind, hiddenUnits: [8, 4], epochs: 3 },
      }).model;
      const result = await trainModel(runtime, {
        x,
        y,
        features: ["a", "b"],
        model,
        holdoutFraction: 0.2,
      });
      const network = await loadNetwork(runtime.tf, result.files);
      const forward = denseForward(network);
      expect(forward).toBeDefined();
      const rows = x.slice(0, 20).map((r) => scaleRow(result.scalers.features, r));
      const expected = predictRows(runtime.tf, network, rows);
      rows.forEach((row, i) => expect(forward?.(row)).toBeCloseTo(expected[i] as number, 4));
      network.dispose();
    }
  });
});
