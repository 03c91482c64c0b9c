import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { silentLogger } from "../../src/core/logger.js";
import { initBackend, type TfRuntime } from "../../src/model/backend.js";
import { loadChampion } from "../../src/model/champion-disk.js";
import { trainModel } from "../../src/model/fit.js";
import { Learner } from "../../src/model/learner.js";
import { ModelStore, type NewModel } from "../../src/model/model-store.js";
import { capturingLogger, FakeHistory, FakeLatest } from "./support/fakes.js";

const config = learningSchema.parse({
  target: "y",
  features: ["a", "b"],
  model: { kind: "mlp", hiddenUnits: [4], epochs: 2 },
});
const expected = { target: "y", tags: ["a", "b", "y"], columns: ["a", "b"] };

/** A real trained network, saved the way the learner saves one. */
async function trained(runtime: TfRuntime, seed: number): Promise<NewModel> {
  const x = Array.from({ length: 50 }, (_, i) => [Math.sin(i + seed), Math.cos(i)]);
  const y = x.map(([a, b]) => 2 * (a as number) - (b as number));
  const result = await trainModel(runtime, {
    x,
    y,
    features: ["a", "b"],
    model: config.model,
    holdoutFraction: 0.2,
  });
  return {
    files: result.files,
    scalers: result.scalers,
    meta: {
      createdTs: Date.now(),
      features: ["a", "b"],
      ...expected,
      holdoutMae: result.metrics.holdoutMae,
      holdoutRmse: result.metrics.holdoutRmse,
      trainRows: 40,
      holdoutRows: 10,
      dataFromTs: 0,
      dataToTs: 1,
      model: config.model,
      backend: runtime.backend,
      trainMs: 1,
    },
  };
}

describe("loading the champion when a version is damaged", () => {
  let runtime: TfRuntime;
  let dir: string;
  let store: ModelStore;
  let events: GatewayEvent[];
  const weights = (v: string) => join(dir, v, "weights.bin");

  beforeAll(async () => {
    runtime = await initBackend();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-champion-"));
    store = new ModelStore(dir, silentLogger());
    events = [];
    await store.save(await trained(runtime, 1));
    await store.save(await trained(runtime, 2));
    await store.setCurrent("v000002");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function load(logger = silentLogger()) {
    const sink = { event: (e: GatewayEvent) => events.push(e) };
    const clock = { now: () => 1000, monotonic: () => 0 };
    return loadChampion({ store, tf: runtime.tf, expected, logger, events: sink, clock });
  }

  it("falls back to the previous version when weights.bin is truncated, on record", async () => {
    const bytes = await readFile(weights("v000002"));
    await writeFile(weights("v000002"), bytes.subarray(0, bytes.length >> 1));
    const { logger, lines } = capturingLogger();

    const champion = await load(logger);

    expect(champion?.meta.version).toBe("v000001");
    expect(champion?.forward?.([0.5, 0.5])).toEqual(expect.any(Number));
    expect(events).toMatchObject([{ kind: "model.unusable", data: { version: "v000002" } }]);
    expect(events[0]?.message).toMatch(/weights\.bin has \d+ bytes, its manifest needs \d+/);
    expect(lines.find((l) => l.msg === "model unusable: cannot be loaded")?.level).toBe(50);
    expect(lines.find((l) => l.msg === "fell back to model")).toMatchObject({
      version: "v000001",
      current: "v000002",
    });
    // The pointer still names the version that was meant.
    expect(await store.current()).toBe("v000002");
    champion?.network.dispose();
  });

  it("falls back when the network cannot be built from its files", async () => {
    const path = join(dir, "v000002", "model.json");
    const json = JSON.parse(await readFile(path, "utf8"));
    json.modelTopology.config.layers[0].class_name = "NoSuchLayer";
    await writeFile(path, JSON.stringify(json));

    const champion = await load();

    expect(champion?.meta.version).toBe("v000001");
    expect(events.map((e) => e.kind)).toEqual(["model.unusable"]);
    champion?.network.dispose();
  });

  it("gives no model at all when no version loads", async () => {
    for (const v of ["v000001", "v000002"]) await writeFile(weights(v), new Uint8Array(3));

    expect(await load()).toBeUndefined();
    expect(events.map((e) => e.data?.version)).toEqual(["v000002", "v000001"]);
  });

  it("lets the learner start with no model yet rather than fail", async () => {
    for (const v of ["v000001", "v000002"]) await writeFile(weights(v), new Uint8Array(3));
    const learner = new Learner({
      config,
      features: ["a", "b"],
      modelDir: dir,
      history: new FakeHistory(new Map()),
      latest: new FakeLatest(),
      onPrediction: () => {},
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      logger: silentLogger(),
      events: { event: (e) => events.push(e) },
    });

    await learner.start();
    try {
      expect(learner.health()).toMatchObject({ status: "ok", modelVersion: "no model yet" });
      expect(events.filter((e) => e.kind === "model.unusable")).toHaveLength(2);
    } finally {
      await learner.stop();
    }
  });
});
