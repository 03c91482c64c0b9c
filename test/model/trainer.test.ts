import { afterEach, describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/core/logger.js";
import { resolveWorkerUrl, Trainer } from "../../src/model/trainer.js";

// These run the compiled worker from dist/: `npm test` builds first (pretest).
describe("Trainer", () => {
  let trainer: Trainer | undefined;
  afterEach(() => trainer?.stop());

  const model = learningSchema.parse({
    target: "y",
    model: { kind: "linear", epochs: 20, batchSize: 32, learningRate: 0.05 },
  }).model;
  const x = Array.from({ length: 200 }, (_, i) => [i % 17, (i * 7) % 13]);
  const y = x.map(([a, b]) => 2 * (a as number) + (b as number));

  it("finds the compiled worker", () => {
    expect(resolveWorkerUrl().pathname).toMatch(/train-worker\.js$/);
  });

  it("trains in the worker and keeps it for the next run", async () => {
    trainer = new Trainer({ logger: silentLogger() });
    const backend = await trainer.start();
    const request = { x, y, features: ["a", "b"], model, holdoutFraction: 0.25 };

    const [first, second] = await Promise.all([trainer.train(request), trainer.train(request)]);

    expect(["tensorflow", "wasm", "cpu"]).toContain(backend);
    expect(first.metrics.holdoutRows).toBe(50);
    expect(first.files.weightData.byteLength).toBe(3 * 4);
    expect(second.metrics.holdoutMae).toBeLessThan(5);
  });

  it("starts the worker on the backend order it is given", async () => {
    trainer = new Trainer({ logger: silentLogger(), backendOrder: ["cpu"] });
    expect(await trainer.start()).toBe("cpu");

    const result = await trainer.train({
      x,
      y,
      features: ["a", "b"],
      model,
      holdoutFraction: 0.25,
    });
    expect(result.backend).toBe("cpu");
  });

  it("fails a run with the worker's reason", async () => {
    trainer = new Trainer({ logger: silentLogger() });
    const request = { x: [[1]], y: [1], features: ["a"], model, holdoutFraction: 0.5 };

    await expect(trainer.train(request)).rejects.toThrow(/too few rows/);
  });

  it("fails runs in flight when stopped", async () => {
    trainer = new Trainer({ logger: silentLogger() });
    await trainer.start();
    const run = trainer.train({ x, y, features: ["a", "b"], model, holdoutFraction: 0.25 });

    await trainer.stop();

    await expect(run).rejects.toThrow(/stopped/);
  });
});
