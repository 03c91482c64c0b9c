import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LearningConfig, learningSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { silentLogger } from "../../src/core/logger.js";
import type {
  HistorySource,
  LatestSource,
  LatestValue,
  Prediction,
  TimeSeries,
} from "../../src/core/series.js";
import { Learner } from "../../src/model/learner.js";
import { dataFile, requireOrSkip } from "../support/data.js";

const ccpp = dataFile("ccpp.csv");
const FEATURES = ["plant.AT", "plant.V", "plant.AP", "plant.RH"];
const TARGET = "plant.PE";
const ROWS = 2000;
const GRID_MS = 1000;
const T0 = 1_700_000_000_000;
/** The fake wall clock stands just after the last synthetic reading. */
const NOW = T0 + ROWS * GRID_MS;

/** The first ROWS CCPP rows as one reading per tag per second, ending at NOW. */
function ccppHistory(): Map<string, TimeSeries> {
  const lines = readFileSync(ccpp.path, "utf8")
    .trim()
    .split("\n")
    .slice(1, ROWS + 1);
  const tags = [...FEATURES, TARGET];
  const out = new Map(tags.map((t) => [t, { ts: [] as number[], values: [] as number[] }]));
  lines.forEach((line, i) => {
    line.split(",").forEach((v, c) => {
      const s = out.get(tags[c] as string) as TimeSeries;
      s.ts.push(T0 + i * GRID_MS + 100);
      s.values.push(Number(v));
    });
  });
  return out;
}

class FakeHistory implements HistorySource {
  calls = 0;
  constructor(private readonly data: Map<string, TimeSeries>) {}
  history(tags: readonly string[], fromTs: number, toTs: number) {
    this.calls++;
    const out = new Map<string, TimeSeries>();
    for (const tag of tags) {
      const s = this.data.get(tag) ?? { ts: [], values: [] };
      const keep = s.ts
        .map((ts, i) => [ts, i] as const)
        .filter(([ts]) => ts >= fromTs && ts < toTs);
      out.set(tag, {
        ts: keep.map(([ts]) => ts),
        values: keep.map(([, i]) => s.values[i] as number),
      });
    }
    return out;
  }
}

class FakeLatest implements LatestSource {
  values = new Map<string, LatestValue>();
  latest(tag: string) {
    return this.values.get(tag);
  }
}

const clock: Clock = { now: () => NOW, monotonic: () => performance.now() };

function config(): LearningConfig {
  return learningSchema.parse({
    target: TARGET,
    gridMs: GRID_MS,
    minRows: 200,
    windowRows: ROWS,
    model: { kind: "mlp", hiddenUnits: [16], epochs: 100, batchSize: 64, learningRate: 0.01 },
  });
}

function waitFor<T>(what: string, probe: () => T | undefined, deadlineMs = 50_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = probe();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > deadlineMs) return reject(new Error(`timed out: ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

describe.runIf(requireOrSkip(ccpp.missing))("Learner on CCPP", () => {
  let dir: string;
  let history: Map<string, TimeSeries>;
  const latest = new FakeLatest();

  function newLearner(source: HistorySource, events: GatewayEvent[], out: Prediction[]) {
    return new Learner({
      config: config(),
      features: FEATURES,
      modelDir: dir,
      history: source,
      latest,
      onPrediction: (p) => {
        if (p) out.push(p);
      },
      clock,
      logger: silentLogger(),
      events: { event: (e) => events.push(e) },
    });
  }

  /** Every tag's newest reading, `ageMs` before now. */
  function setLatest(ageMs: number): void {
    for (const [tag, s] of history) {
      latest.values.set(tag, { ts: NOW - ageMs, value: s.values.at(-1) as number });
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-learner-"));
    history = ccppHistory();
    setLatest(500);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("trains to a holdout MAE under 4.5 MW and predicts", async () => {
    const events: GatewayEvent[] = [];
    const predictions: Prediction[] = [];
    const learner = newLearner(new FakeHistory(history), events, predictions);
    await learner.start();
    try {
      expect(learner.health().modelVersion).toBe("no model yet");
      const promoted = await waitFor("model.promoted", () =>
        events.find((e) => e.kind === "model.promoted"),
      );
      const first = await waitFor("a prediction", () => predictions[0]);

      expect(promoted.data?.version).toBe("v000001");
      expect(promoted.data?.holdoutMae).toBeLessThan(4.5);
      expect(promoted.data?.rows).toBe(ROWS);
      expect(first).toMatchObject({ target: TARGET, modelVersion: "v000001", ts: NOW });
      const actual = history.get(TARGET)?.values.at(-1) as number;
      expect(Math.abs(first.value - actual)).toBeLessThan(20);
      expect(learner.health()).toMatchObject({ status: "ok", modelVersion: "v000001" });
    } finally {
      await learner.stop();
    }
  }, 60_000);

  // Runs after the test above, on the model it left in `dir`.
  it("continues with the trained model after a restart, without retraining", async () => {
    const events: GatewayEvent[] = [];
    const predictions: Prediction[] = [];
    const source = new FakeHistory(history);
    const learner = newLearner(source, events, predictions);
    await learner.start();
    try {
      expect(learner.health().modelVersion).toBe("v000001");
      // The training check runs at start; once a prediction is out it has had its turn.
      await waitFor("a prediction", () => predictions[0]);
      await new Promise((r) => setTimeout(r, 100));

      expect(predictions[0]?.modelVersion).toBe("v000001");
      expect(source.calls).toBe(0);
      expect(events).toEqual([]);
      expect((await readdir(dir)).filter((n) => n.startsWith("v"))).toEqual(["v000001"]);
    } finally {
      await learner.stop();
    }
  });

  it("predicts nothing from stale or missing inputs", async () => {
    const learner = newLearner(new FakeHistory(history), [], []);
    await learner.start();
    try {
      const maxAge = config().maxFillSteps * GRID_MS + GRID_MS;
      setLatest(maxAge);
      expect(learner.predictNow()).toBeDefined();

      setLatest(maxAge + 1);
      expect(learner.predictNow()).toBeUndefined();

      setLatest(0);
      latest.values.delete("plant.RH");
      expect(learner.predictNow()).toBeUndefined();
    } finally {
      await learner.stop();
      setLatest(500);
    }
  });
});
