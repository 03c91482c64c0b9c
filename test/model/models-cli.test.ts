import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatModels, listModels, rollbackModel } from "../../src/cli/models.js";
import { learningSchema } from "../../src/config/schema.js";
import { ControlServer } from "../../src/control/channel.js";
import { silentLogger } from "../../src/core/logger.js";
import { ModelStore, type NewModel } from "../../src/model/model-store.js";
import { repoRoot } from "../support/data.js";

const expected = { target: "y", tags: ["a", "b", "y"], columns: ["a", "b"] };

function newModel(
  holdoutMae: number,
  features = ["a", "b"],
  inputs = { tags: [...features, "y"], columns: features },
): NewModel {
  return {
    files: {
      modelTopology: { class_name: "Sequential" },
      weightSpecs: [{ name: "dense/kernel", shape: [features.length, 1], dtype: "float32" }],
      weightData: new Float32Array(features.length).buffer,
    },
    scalers: { features: { means: [1, 2], stds: [3, 4] }, target: { means: [5], stds: [6] } },
    meta: {
      createdTs: Date.UTC(2024, 0, 2, 3, 4, 5),
      features,
      target: "y",
      ...inputs,
      holdoutMae,
      holdoutRmse: holdoutMae * 1.25,
      trainRows: 80,
      holdoutRows: 20,
      dataFromTs: Date.UTC(2024, 0, 1),
      dataToTs: Date.UTC(2024, 0, 2),
      model: learningSchema.parse({ target: "y" }).model,
      backend: "cpu",
      trainMs: 10,
    },
  };
}

describe("plantgate models", () => {
  let dir: string;
  let store: ModelStore;
  let socket: string;
  let server: ControlServer | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-models-cli-"));
    socket = join(dir, "plantgate.sock");
    store = new ModelStore(join(dir, "models"), silentLogger());
    await store.save(newModel(4));
    await store.save(newModel(3));
    await store.save(newModel(2, ["a", "c"]));
    await store.setCurrent("v000002");
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A daemon stand-in: the real control server with a models.reload handler. */
  async function fakeDaemon(reload: () => unknown): Promise<string[]> {
    const calls: string[] = [];
    server = new ControlServer(
      socket,
      {
        "models.reload": async () => {
          calls.push((await store.current()) as string);
          return reload();
        },
      },
      silentLogger(),
    );
    await server.start();
    return calls;
  }

  it("lists versions with the champion marked", async () => {
    const rows = await listModels(join(dir, "models"));

    expect(rows.map((r) => [r.version, r.champion])).toEqual([
      ["v000001", false],
      ["v000002", true],
      ["v000003", false],
    ]);
    expect(rows[1]).toMatchObject({ holdoutMae: 3, holdoutRmse: 3.75, rows: 100 });
    const text = formatModels(rows).split("\n");
    expect(text[0]).toMatch(/version\tcreated\tmae\trmse\trows/);
    expect(text[2]).toBe(
      "*\tv000002\t2024-01-02T03:04:05\t3.000\t3.750\t100\t" +
        "2024-01-01T00:00:00 → 2024-01-02T00:00:00\t?\ta,b",
    );
  });

  it("counts the values cleaning dropped or repaired, per tag in --json", async () => {
    const model = newModel(1);
    const cleaning = { tags: { a: { stuck: 4, filled: 2 }, b: { duplicate: 1 } }, rows: {} };
    await store.save({ ...model, meta: { ...model.meta, cleaning } });

    const rows = await listModels(join(dir, "models"));

    expect(rows[3]?.cleaning).toEqual(cleaning.tags);
    expect(formatModels(rows).split("\n")[4]).toMatch(/\t7\ta,b$/);
  });

  it("marks a version whose files are damaged as unusable", async () => {
    await writeFile(join(dir, "models", "v000002", "weights.bin"), Buffer.alloc(3));
    const rows = await listModels(join(dir, "models"));
    expect(rows[0]?.unusable).toBeUndefined();
    expect(rows[1]?.unusable).toMatch(/weights.bin has 3 bytes, its manifest needs 8/);
    expect(formatModels(rows).split("\n")[2]).toMatch(/^\*\tv000002\t.*\tunusable: /);
  });

  it("says so when there is no model yet", async () => {
    const rows = await listModels(join(dir, "none"));
    expect(formatModels(rows)).toBe("no trained models yet\n");
  });

  it("rolls back with no daemon running: the pointer moves, nothing else", async () => {
    const r = await rollbackModel({
      dir: join(dir, "models"),
      version: "v000001",
      socket,
      expected,
    });

    expect(r).toEqual({ version: "v000001", previous: "v000002", reloaded: false });
    expect(await readFile(join(dir, "models", "current"), "utf8")).toBe("v000001\n");
  });

  it("tells a running daemon to load the version", async () => {
    const calls = await fakeDaemon(() => ({ version: "v000001" }));

    const r = await rollbackModel({
      dir: join(dir, "models"),
      version: "v000001",
      socket,
      expected,
    });

    expect(r.reloaded).toBe(true);
    expect(calls).toEqual(["v000001"]);
  });

  it("puts the pointer back when the daemon refuses the version", async () => {
    await fakeDaemon(() => {
      throw new Error("model v000001 refused: its tag set differs");
    });

    await expect(
      rollbackModel({ dir: join(dir, "models"), version: "v000001", socket, expected }),
    ).rejects.toThrow(/the daemon did not load v000001: model v000001 refused/);
    expect(await store.current()).toBe("v000002");
  });

  it("refuses an unknown version and one trained on other tags", async () => {
    const models = join(dir, "models");
    await expect(
      rollbackModel({ dir: models, version: "v000009", socket, expected }),
    ).rejects.toThrow(/no model v000009 in .*there are: v000001, v000002, v000003/);
    await expect(
      rollbackModel({ dir: models, version: "v000003", socket, expected }),
    ).rejects.toThrow(
      /cannot serve this config: its tag set \[a, c, y\] differs from the config's \[a, b, y\]/,
    );
    expect(await store.current()).toBe("v000002");
  });
});

// The built CLI on a config whose model inputs are not just features + target: a formula
// target over a counter, and derived columns.
describe("plantgate models rollback, the command", () => {
  const CONFIG = `
gateway: { name: t, stateDir: STATE }
connections:
  - name: c
    host: 127.0.0.1
    port: 5020
    devices:
      - name: line
        groups:
          - name: g
            pollIntervalMs: 1000
            tags:
              - { name: speed, table: inputRegister, address: 0, type: float32 }
              - { name: goodParts, table: inputRegister, address: 2, type: uint32 }
learning:
  target: line.throughput
  formula: rate(line.goodParts) * 60
  features: [line.speed]
  counters: [{ tag: line.goodParts }]
  derived: { windows: [5], stats: [mean] }
`;
  // What the daemon feeds such a model, written out by hand rather than computed by the
  // code under test.
  const inputs = {
    tags: ["line.speed", "line.goodParts"],
    columns: ["line.speed", "line.speed:mean5"],
  };
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-rollback-cli-"));
    file = join(dir, "plantgate.yaml");
    await writeFile(file, CONFIG.replace("STATE", dir));
    const store = new ModelStore(join(dir, "models"), silentLogger());
    const model = (mae: number, columns = inputs.columns) => {
      const m = newModel(mae, ["line.speed"], { ...inputs, columns });
      return { ...m, meta: { ...m.meta, target: "line.throughput" } };
    };
    await store.save(model(4));
    await store.save(model(3));
    await store.save(model(2, ["line.speed"]));
    await store.setCurrent("v000002");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = (version: string) =>
    spawnSync(
      process.execPath,
      [join(repoRoot, "dist/cli/main.js"), "models", "rollback", version, "-c", file],
      { encoding: "utf8", timeout: 20_000 },
    );

  it("rolls back to a version with the same formula, counters and derived columns", async () => {
    const r = run("v000001");

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "current model: v000001 (was v000002); no daemon running; loaded at its next start\n",
    );
    expect(await readFile(join(dir, "models", "current"), "utf8")).toBe("v000001\n");
  });

  it("refuses a version with other input columns, and leaves the pointer", async () => {
    const r = run("v000003");

    expect(r.status).toBe(1);
    const refusal = /v000003 cannot serve this config: its input columns \[line\.speed\]/;
    expect(r.stderr).toMatch(refusal);
    expect(await readFile(join(dir, "models", "current"), "utf8")).toBe("v000002\n");
  });
});
