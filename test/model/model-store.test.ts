import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/core/logger.js";
import { ModelStore, type NewModel } from "../../src/model/model-store.js";

function newModel(holdoutMae: number): NewModel {
  return {
    files: {
      modelTopology: { class_name: "Sequential" },
      weightSpecs: [{ name: "dense/kernel", shape: [2, 1], dtype: "float32" }],
      weightData: new Float32Array([holdoutMae, 2]).buffer,
    },
    scalers: { features: { means: [1, 2], stds: [3, 4] }, target: { means: [5], stds: [6] } },
    meta: {
      createdTs: 1_700_000_000_000,
      features: ["a", "b"],
      target: "y",
      holdoutMae,
      holdoutRmse: holdoutMae * 1.2,
      trainRows: 80,
      holdoutRows: 20,
      dataFromTs: 0,
      dataToTs: 99_000,
      model: learningSchema.parse({ target: "y" }).model,
      backend: "cpu",
      trainMs: 10,
    },
  };
}

describe("ModelStore", () => {
  let dir: string;
  let store: ModelStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-models-"));
    store = new ModelStore(dir, silentLogger());
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("numbers versions and reads back what it wrote", async () => {
    expect(await store.save(newModel(1))).toBe("v000001");
    expect(await store.save(newModel(2))).toBe("v000002");

    const back = await store.load("v000002");

    expect(await store.list()).toEqual(["v000001", "v000002"]);
    expect(back.meta.version).toBe("v000002");
    expect(back.meta.holdoutMae).toBe(2);
    expect(Array.from(new Float32Array(back.files.weightData))).toEqual([2, 2]);
    expect(back.scalers.target).toEqual({ means: [5], stds: [6] });
    const files = await readdir(join(dir, "v000001"));
    expect(files.sort()).toEqual(["meta.json", "model.json", "scaler.json", "weights.bin"]);
  });

  it("keeps the optimizer state beside the weights, for warm starts", async () => {
    const model = newModel(1);
    const optimizer = [
      { name: "iter", shape: [], values: [40] },
      { name: "dense/kernel/m", shape: [2, 1], values: [0.5, -0.25] },
    ];
    await store.save({ ...model, files: { ...model.files, optimizer } });
    expect((await store.load("v000001")).files.optimizer).toEqual(optimizer);
    // A version without one (saved before, or by hand) loads with none.
    await store.save(newModel(2));
    expect((await store.load("v000002")).files.optimizer).toBeUndefined();
  });

  it("has no current model until one is set", async () => {
    expect(await store.current()).toBeUndefined();
    expect(await store.championCandidates()).toEqual([]);

    await store.save(newModel(1));
    await store.setCurrent("v000001");

    expect(await store.current()).toBe("v000001");
    expect(await store.championCandidates()).toEqual(["v000001"]);
  });

  it("replaces the pointer by rename, leaving no temporary file", async () => {
    await store.save(newModel(1));
    await store.save(newModel(2));
    await store.setCurrent("v000001");
    await store.setCurrent("v000002");

    expect(await readFile(join(dir, "current"), "utf8")).toBe("v000002\n");
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("keeps the newest K versions and never deletes the current one", async () => {
    for (let i = 1; i <= 5; i++) await store.save(newModel(i));
    await store.setCurrent("v000001");

    const removed = await store.prune(2);

    expect(removed).toEqual(["v000002", "v000003"]);
    expect(await store.list()).toEqual(["v000001", "v000004", "v000005"]);
    expect(await store.save(newModel(6))).toBe("v000006");
  });

  it("offers the current version, then the older ones, never a newer one", async () => {
    await store.save(newModel(1));
    await store.save(newModel(2));
    await store.save(newModel(3));
    await store.setCurrent("v000002");

    // v000003 is newer but was never promoted, so it is not a candidate.
    expect(await store.championCandidates()).toEqual(["v000002", "v000001"]);
  });

  it("offers every version, newest first, when the pointer is garbage", async () => {
    await store.save(newModel(1));
    await store.save(newModel(2));
    await writeFile(join(dir, "current"), "\u0000\u0000");

    expect(await store.current()).toBeUndefined();
    expect(await store.championCandidates()).toEqual(["v000002", "v000001"]);
  });

  it("refuses to load a version whose weights.bin is shorter than its manifest", async () => {
    await store.save(newModel(1));
    await writeFile(join(dir, "v000001", "weights.bin"), new Uint8Array(5));

    await expect(store.load("v000001")).rejects.toThrow(
      /weights\.bin has 5 bytes, its manifest needs 8: the file is truncated or damaged/,
    );
  });

  it("refuses to point at something that is not a version", async () => {
    await expect(store.setCurrent("../etc")).rejects.toThrow(/not a model version/);
  });
});
