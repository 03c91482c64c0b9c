import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import type { GatewayEvent } from "../../src/core/events.js";
import type { Logger } from "../../src/core/logger.js";
import { silentLogger } from "../../src/core/logger.js";
import type { LatestValue, RecentSource, TimeSeries } from "../../src/core/series.js";
import { Learner } from "../../src/model/learner.js";
import { ModelStore } from "../../src/model/model-store.js";
import { judgeChallenger } from "../../src/model/promotion.js";
import { dataFile, requireOrSkip } from "../support/data.js";
import {
  CCPP_FEATURES,
  CCPP_TARGET,
  capturingLogger,
  ccppHistory,
  FakeHistory,
  FakeLatest,
  waitFor,
} from "./support/fakes.js";

describe("judgeChallenger", () => {
  const m = (holdoutMae: number) => ({ holdoutMae, holdoutRmse: holdoutMae * 1.2 });

  it("promotes the first finite model and refuses a diverged one", () => {
    expect(judgeChallenger(m(5), undefined, 0.02).promote).toBe(true);
    expect(judgeChallenger(m(Number.NaN), undefined, 0.02)).toMatchObject({
      promote: false,
      reason: expect.stringMatching(/not finite/),
    });
  });

  it("promotes only when the MAE is lower by the margin", () => {
    expect(judgeChallenger(m(3.9), m(4), 0.02).promote).toBe(true);
    expect(judgeChallenger(m(3.95), m(4), 0.02)).toMatchObject({
      promote: false,
      reason: "holdout MAE 3.950 is not 2% below the champion's 4.000",
    });
    expect(judgeChallenger(m(4), m(4), 0).promote).toBe(false);
    expect(judgeChallenger(m(3), m(Number.NaN), 0.02).promote).toBe(true);
  });
});

const ccpp = dataFile("ccpp.csv");
const ROWS = 2000;
const GRID_MS = 1000;
const T0 = 1_700_000_000_000;
const NOW = T0 + ROWS * GRID_MS;
const clock: Clock = { now: () => NOW, monotonic: () => performance.now() };

/** A model that barely trains: one epoch of a linear model at a tiny rate. */
const POOR = { kind: "linear", epochs: 1, learningRate: 0.0001 } as const;
const GOOD = { kind: "mlp", hiddenUnits: [16], epochs: 60, batchSize: 64, learningRate: 0.01 };

describe.runIf(requireOrSkip(ccpp.missing))("Learner: champion and challenger on CCPP", () => {
  let dir: string;
  let history: Map<string, TimeSeries>;
  const latest = new FakeLatest();

  function newLearner(
    model: object,
    events: GatewayEvent[],
    opts: {
      warmStart?: boolean;
      features?: string[];
      logger?: Logger;
      empty?: boolean;
      recent?: RecentSource;
    } = {},
  ) {
    const config = learningSchema.parse({
      target: CCPP_TARGET,
      gridMs: GRID_MS,
      minRows: 200,
      windowRows: ROWS,
      warmStart: opts.warmStart ?? false,
      model,
    });
    return new Learner({
      config,
      features: opts.features ?? CCPP_FEATURES,
      modelDir: dir,
      history: new FakeHistory(opts.empty ? new Map() : history),
      latest,
      recent: opts.recent,
      onPrediction: () => {},
      clock,
      logger: opts.logger ?? silentLogger(),
      events: { event: (e) => events.push(e) },
      trainCheckMs: 50,
    });
  }

  /** Starts a learner, asks for a retrain, returns the outcome event; stops it after `then`. */
  async function retrain(model: object, warmStart = false) {
    const events: GatewayEvent[] = [];
    const learner = newLearner(model, events, { warmStart });
    await learner.start();
    try {
      learner.requestRetrain("test");
      const outcome = await waitFor("an outcome", () =>
        events.find((e) => e.kind === "model.promoted" || e.kind === "model.rejected"),
      );
      return { outcome, health: learner.health() };
    } finally {
      await learner.stop();
    }
  }

  /**
   * The whole history as the recent span, less the newest `cut` readings of every tag (a
   * function: read at each call, so a test can change it between predictions).
   */
  function fullRecent(cut: number | (() => number) = 0): RecentSource {
    return {
      recent: (tags: readonly string[], fromTs: number) => {
        const n = typeof cut === "number" ? cut : cut();
        const all = new FakeHistory(history).history(tags, fromTs, Number.POSITIVE_INFINITY);
        for (const s of all.values()) {
          s.ts.splice(s.ts.length - n);
          s.values.splice(s.values.length - n);
        }
        return all;
      },
    };
  }

  const versions = async () => (await readdir(dir)).filter((n) => n.startsWith("v")).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-promotion-"));
    history = ccppHistory(ccpp.path, ROWS, T0, GRID_MS);
    for (const [tag, s] of history) {
      latest.values.set(tag, { ts: NOW - 500, value: s.values.at(-1) as number });
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("promotes the first finite model, however poor", async () => {
    const events: GatewayEvent[] = [];
    const learner = newLearner(POOR, events);
    await learner.start();
    try {
      const promoted = await waitFor("model.promoted", () =>
        events.find((e) => e.kind === "model.promoted"),
      );
      expect(promoted.data).toMatchObject({ version: "v000001", trigger: "no model" });
      expect(promoted.data?.championMae).toBeUndefined();
      expect(promoted.data?.holdoutMae).toBeGreaterThan(6);
    } finally {
      await learner.stop();
    }
  }, 60_000);

  it("promotes a better challenger, measured beside the champion on one holdout", async () => {
    const { outcome, health } = await retrain(GOOD);

    expect(outcome.kind).toBe("model.promoted");
    expect(outcome.data).toMatchObject({ version: "v000002", championVersion: "v000001" });
    const { holdoutMae, championMae } = outcome.data as Record<string, number>;
    expect(holdoutMae).toBeLessThan(4.5);
    expect(championMae).toBeGreaterThan(6);
    expect(health.modelVersion).toBe("v000002");
  }, 60_000);

  it("rejects a worse challenger and keeps the champion", async () => {
    const { outcome, health } = await retrain(POOR);

    expect(outcome.kind).toBe("model.rejected");
    const data = outcome.data as Record<string, unknown>;
    expect(data.championVersion).toBe("v000002");
    expect(data.holdoutMae as number).toBeGreaterThan(data.championMae as number);
    expect(data.reason).toMatch(/is not 2% below the champion's/);
    expect(outcome.message).toMatch(/^challenger rejected: /);
    expect(health.modelVersion).toBe("v000002");
    expect(await versions()).toEqual(["v000001", "v000002"]);
    expect(await new ModelStore(dir, silentLogger()).current()).toBe("v000002");
  }, 60_000);

  it("starts a challenger of the same architecture from the champion's weights", async () => {
    const { outcome } = await retrain(GOOD, true);

    expect(outcome.data?.warmStarted).toBe(true);
    // Started from a good model, it stays in its league whichever way the verdict goes.
    expect(outcome.data?.holdoutMae).toBeLessThan(4.5);
  }, 60_000);

  it("reloads the version the pointer names, and a restart loads it too", async () => {
    const store = new ModelStore(dir, silentLogger());
    const events: GatewayEvent[] = [];
    const learner = newLearner(GOOD, events, { empty: true });
    await learner.start();
    const champion = (await store.current()) as string;
    try {
      expect(learner.health().modelVersion).toBe(champion);
      await store.setCurrent("v000001");

      expect(await learner.reload()).toEqual({ version: "v000001" });
      expect(learner.health().modelVersion).toBe("v000001");
      expect(learner.predictNow()?.modelVersion).toBe("v000001");
    } finally {
      await learner.stop();
    }

    const again = newLearner(GOOD, events, { empty: true });
    await again.start();
    try {
      expect(again.health().modelVersion).toBe("v000001");
    } finally {
      await again.stop();
      await store.setCurrent(champion);
    }
  }, 60_000);

  it("predicts with a band from the holdout residual quantiles", async () => {
    const learner = newLearner(GOOD, [], { empty: true });
    await learner.start();
    try {
      const p = learner.predictNow();
      expect(p).toBeDefined();
      const { value, lower, upper } = p as { value: number; lower: number; upper: number };
      expect(lower).toBeLessThan(value);
      expect(upper).toBeGreaterThan(value);
      expect(upper - lower).toBeGreaterThan(2);
      expect(upper - lower).toBeLessThan(30);
    } finally {
      await learner.stop();
    }
  });

  it("predicts from the dataset row of the newest complete cell, not stale inputs", async () => {
    let cut = 0;
    const learner = newLearner(GOOD, [], { empty: true, recent: fullRecent(() => cut) });
    await learner.start();
    try {
      expect(learner.predictNow()).toMatchObject({ ts: NOW - GRID_MS, target: CCPP_TARGET });
      // Readings held back while the device answers (a deadband): carried forward within
      // the fill reach, they still make the row…
      cut = 3;
      expect(learner.predictNow()?.ts).toBe(NOW - GRID_MS);
      // …beyond it the newest row is an older cell's: no prediction.
      cut = 5;
      expect(learner.predictNow()).toBeUndefined();
    } finally {
      await learner.stop();
    }
  });

  it("predicts nothing while an input's newest reading is bad, and resumes after", async () => {
    const learner = newLearner(GOOD, [], { empty: true, recent: fullRecent() });
    await learner.start();
    const saved = latest.values.get("plant.V");
    try {
      expect(learner.predictNow()).toBeDefined();
      // The device stopped answering: its newest reading of V is bad, so latest() has none.
      latest.values.delete("plant.V");
      expect(learner.predictNow()).toBeUndefined();
      expect(learner.health().predictionUnknown).toBe("inputs bad");
      latest.values.set("plant.V", saved as LatestValue);
      expect(learner.predictNow()).toBeDefined();
      expect(learner.health().predictionUnknown).toBeUndefined();
    } finally {
      latest.values.set("plant.V", saved as LatestValue);
      await learner.stop();
    }
  });

  it("does not fill across bad readings at inference, as training does not", async () => {
    const learner = newLearner(GOOD, [], { empty: true, recent: fullRecent(3) });
    await learner.start();
    try {
      // The last 3 cells have no good readings: filled forward, they still make a row…
      expect(learner.predictNow()?.ts).toBe(NOW - GRID_MS);
      // …but not when the polls there came back bad: no value is known since.
      const bad = (ts: number) => ({
        tag: "plant.AT",
        ts,
        value: null,
        quality: { status: "bad", reason: "timeout" } as const,
      });
      learner.observe([bad(NOW - 2900), bad(NOW - 1900), bad(NOW - 900)]);
      expect(learner.predictNow()).toBeUndefined();
    } finally {
      await learner.stop();
    }
  });

  it("refuses a stored model when the tag set changed, with a clear log line", async () => {
    const { logger, lines } = capturingLogger();
    const learner = newLearner(GOOD, [], {
      features: CCPP_FEATURES.slice(0, 3),
      logger,
      empty: true,
    });
    await learner.start();
    try {
      expect(learner.health().modelVersion).toBe("no model yet");
      expect(learner.predictNow()).toBeUndefined();
      const refused = lines.find((l) => String(l.msg).startsWith("model refused"));
      expect(refused?.msg).toMatch(/tag set .* differs from the config's/);
      expect(refused?.level).toBe(40);
      expect(refused?.configTags).toEqual([...CCPP_FEATURES.slice(0, 3), CCPP_TARGET]);
      await expect(learner.reload()).rejects.toThrow(/refused: its tag set/);
    } finally {
      await learner.stop();
    }
  });
});
