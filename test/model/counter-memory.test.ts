import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/core/logger.js";
import { CounterMemory } from "../../src/model/counter-memory.js";
import { Learner } from "../../src/model/learner.js";
import { buildDataset } from "../../src/preprocess/dataset.js";
import { FakeHistory, FakeLatest } from "./support/fakes.js";

const config = learningSchema.parse({
  target: "line.rate",
  formula: "delta(line.parts)",
  features: ["line.speed"],
  counters: [{ tag: "line.parts", bits: 16 }],
  gridMs: 1000,
});

describe("counter memory across a gateway restart", () => {
  it("continues from the saved reading: a rollover stays one, not an unknown step", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-ctr-"));
    const before = new CounterMemory(dir, silentLogger());
    await before.start();
    const series = (ts: number[], parts: number[]) =>
      new Map([
        ["line.parts", { ts, values: parts }],
        ["line.speed", { ts, values: ts.map(() => 100) }],
      ]);
    // Running: the counter climbs to near the top of its 16 bits.
    const first = buildDataset(
      series([0, 1000, 2000], [65500, 65510, 65520]),
      config,
      ["line.speed"],
      before.state,
    );
    before.state = first.counterState;
    await before.stop();
    expect(JSON.parse(readFileSync(join(dir, "counters.json"), "utf8"))["line.parts"]).toEqual({
      ts: 2000,
      value: 65520,
    });

    // Restarted: the first new reading has rolled over. With the saved reading its step is
    // known (+26); without it, it could not be told from a PLC reset.
    const after = new CounterMemory(dir, silentLogger());
    await after.start();
    const next = series([3000, 4000], [10, 20]);
    const withMemory = buildDataset(next, config, ["line.speed"], after.state);
    const blind = buildDataset(next, config, ["line.speed"], {});
    await after.stop();
    expect(withMemory.y[withMemory.ts.indexOf(3000)]).toBe(26);
    expect(blind.y[blind.ts.indexOf(3000)] ?? undefined).toBeUndefined();
  });

  it("is kept before the first model exists, so that restart is no reset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-ctr-"));
    const now = 10_500;
    const ts = [6000, 7000, 8000, 9000, 10_000];
    const data = new Map([
      ["line.parts", { ts, values: [65500, 65510, 65520, 65530, 65535] }],
      ["line.speed", { ts, values: ts.map(() => 100) }],
    ]);
    const history = new FakeHistory(data);
    const learner = new Learner({
      config: { ...config, minRows: 1000 },
      features: ["line.speed"],
      modelDir: dir,
      history,
      latest: new FakeLatest(),
      recent: { recent: (tags, fromTs) => history.history(tags, fromTs, now) },
      onPrediction: () => {},
      clock: { now: () => now, monotonic: () => performance.now() },
      logger: silentLogger(),
      events: { event: () => {} },
    });
    await learner.start();
    expect(learner.predictNow()).toBeUndefined();
    expect(learner.health().modelVersion).toBe("no model yet");
    await learner.stop();

    const saved = JSON.parse(readFileSync(join(dir, "counters.json"), "utf8"));
    // The newest complete cell's reading: the one at 10 s is in the cell still open.
    expect(saved["line.parts"]).toEqual({ ts: 9000, value: 65530 });
  });

  it("starts blind, without crashing, from an unreadable state file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-ctr-"));
    writeFileSync(join(dir, "counters.json"), "{not json");
    const memory = new CounterMemory(dir, silentLogger());
    await memory.start();
    expect(memory.state).toEqual({});
    await memory.stop();
  });
});
