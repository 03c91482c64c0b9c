// The learner against a plant running in real time on a 20 ms grid: when it retrains (on
// its interval, after new rows, on drift), how it backs off a diverging fit, and what the
// rules see while a device is down. The worker trains for real; the monotonic clock is
// moved ahead where the test needs an hour to pass.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ThresholdRule } from "../../src/alerts/rule.js";
import { learningSchema, ruleSchema } from "../../src/config/schema.js";
import type { GatewayEvent } from "../../src/core/events.js";
import type { Prediction } from "../../src/core/series.js";
import { Learner } from "../../src/model/learner.js";
import { ModelStore } from "../../src/model/model-store.js";
import { capturingLogger, waitFor } from "./support/fakes.js";
import { LivePlant, PLANT_FEATURES, PLANT_TARGET } from "./support/live-plant.js";

const GRID_MS = 20;
const HOUR = 3_600_000;

describe("the learner's schedule, on a live plant", () => {
  let dir: string;
  let plant: LivePlant;
  let learner: Learner | undefined;
  let poller: NodeJS.Timeout | undefined;
  let events: GatewayEvent[];
  let predictions: Array<Prediction | undefined>;
  /** The plant's time when each prediction was handed out. */
  let at: number[];
  let log: ReturnType<typeof capturingLogger>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-schedule-"));
    plant = new LivePlant(GRID_MS, 400);
    events = [];
    predictions = [];
    at = [];
    log = capturingLogger();
  });
  afterEach(async () => {
    clearInterval(poller);
    await learner?.stop();
    learner = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** True once a few predictions came, for waitFor. */
  const somePredictions = () => (predictions.filter(Boolean).length > 5 ? true : undefined);

  async function start(overrides: Record<string, unknown> = {}): Promise<Learner> {
    const config = learningSchema.parse({
      target: PLANT_TARGET,
      gridMs: GRID_MS,
      maxFillSteps: 2,
      minRows: 100,
      windowRows: 400,
      reservoirRows: 0,
      retrainIntervalMs: HOUR,
      drift: { threshold: 50, delta: 0.5, minSamples: 30 },
      model: { kind: "linear", epochs: 20, batchSize: 32, learningRate: 0.05 },
      ...overrides,
    });
    learner = new Learner({
      config,
      features: PLANT_FEATURES,
      modelDir: dir,
      history: plant,
      badReadings: plant,
      latest: plant,
      recent: plant,
      onPrediction: (p) => {
        predictions.push(p);
        at.push(plant.clock.now());
      },
      clock: plant.clock,
      logger: log.logger,
      events: { event: (e) => events.push(e) },
      trainCheckMs: 20,
    });
    await learner.start();
    // The daemon hands the learner every reading as it is polled; the bad ones matter.
    poller = setInterval(() => learner?.observe(plant.poll()), GRID_MS / 2);
    return learner;
  }

  const outcomes = () =>
    events.filter((e) => e.kind === "model.promoted" || e.kind === "model.rejected");
  const nthOutcome = (n: number) => waitFor(`outcome ${n}`, () => outcomes()[n - 1], 20_000);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("trains the first model at once, then waits for its interval", async () => {
    await start();
    const first = await nthOutcome(1);
    expect(first).toMatchObject({ kind: "model.promoted", data: { trigger: "no model" } });

    // Checks run every 20 ms, but nothing is due for an hour.
    await sleep(500);
    expect(outcomes()).toHaveLength(1);

    plant.monotonicAheadMs += HOUR;
    const second = await nthOutcome(2);
    expect(second.data?.trigger).toBe("interval");
  }, 30_000);

  it("logs the backend at start, and each run's cleaning counts and the version's", async () => {
    await start();
    await nthOutcome(1);

    const ready = log.lines.find((l) => l.msg === "tensorflow backend ready");
    expect(ready?.level).toBe(30);
    expect(["tensorflow", "wasm", "cpu"]).toContain(ready?.backend);
    const trained = log.lines.find((l) => l.msg === "model trained");
    const duplicates = (trained?.cleaning as { tags: Record<string, { duplicate?: number }> })
      ?.tags["p.a"]?.duplicate;
    expect(trained?.level).toBe(30);
    // A duplicate every 50 cells in a window of up to 400.
    expect(duplicates).toBeGreaterThanOrEqual(7);
    expect(duplicates).toBeLessThanOrEqual(9);
    const meta = await new ModelStore(dir, log.logger).readMeta("v000001");
    expect(meta.cleaning?.tags["p.a"]?.duplicate).toBe(duplicates);
  }, 30_000);

  it("retrains once retrainAfterRows predictions have met their real value", async () => {
    await start({ retrainAfterRows: 40 });
    await nthOutcome(1);

    // 40 cells of 20 ms, then the next check.
    const second = await nthOutcome(2);
    expect(second.data?.trigger).toBe("new rows");
    expect(learner?.health().drift).toMatchObject({ newRows: expect.any(Number) });
  }, 30_000);

  it("retrains early on drift, after a model.drift event", async () => {
    await start();
    await nthOutcome(1);
    await waitFor("predictions", somePredictions);

    plant.drift(30);
    const drift = await waitFor("model.drift", () => events.find((e) => e.kind === "model.drift"));
    const early = await nthOutcome(2);

    expect(drift.data).toMatchObject({ version: "v000001", threshold: 50 });
    expect(early.data?.trigger).toBe("drift");
    expect(events.indexOf(early)).toBeGreaterThan(events.indexOf(drift));
  }, 30_000);

  it("backs off a first fit that diverges, twice as long the second time", async () => {
    await start({ model: { kind: "linear", epochs: 5, batchSize: 32, learningRate: 1e38 } });
    const first = await nthOutcome(1);
    expect(first).toMatchObject({
      kind: "model.rejected",
      data: { trigger: "no model", retryInMs: 60_000 },
    });
    expect(first.message).toMatch(/not finite .* next try in 60 s/);

    // Without the backoff a run would start every 20 ms.
    await sleep(1000);
    expect(outcomes()).toHaveLength(1);
    expect(learner?.health()).toMatchObject({ status: "degraded", failedRuns: 1 });

    plant.monotonicAheadMs += 60_000;
    const second = await nthOutcome(2);
    expect(second.data?.retryInMs).toBe(120_000);
    expect(learner?.health().modelVersion).toBe("no model yet");
  }, 30_000);

  it("gives the rules unknown while the device is down, and predicts again after", async () => {
    await start();
    await nthOutcome(1);
    const rule = new ThresholdRule(
      ruleSchema.parse({ name: "low", below: { alarm: -1e9 }, debounceMs: 0 }),
    );
    await waitFor("predictions", somePredictions);

    const down = plant.goDown(400);
    await sleep(200);
    // From the first bad poll on (one cell in), every step is unknown, and so is the rule:
    // not the maxFillSteps cells more that filling forward would bridge.
    const firstBad = down.fromTs + GRID_MS + 5;
    const during = predictions.filter((_, i) => (at[i] as number) >= firstBad);
    expect(during.length).toBeGreaterThan(3);
    expect(during.every((p) => p === undefined)).toBe(true);
    rule.update(during.at(-1)?.value, performance.now());
    expect(rule.state).toBe("unknown");
    expect(learner?.health().predictionUnknown).toBe("inputs bad");

    await sleep(down.toTs - plant.clock.now() + 200);
    const after = predictions.slice(-3);
    expect(after.every((p) => p !== undefined && p.ts >= down.toTs)).toBe(true);
    rule.update(after.at(-1)?.value, performance.now());
    expect(rule.state).toBe("ok");
    const paused = log.lines.find(
      (l) => l.msg === "predictions unknown: inputs bad or not read yet",
    );
    expect(paused?.tags).toEqual(PLANT_FEATURES);
    expect(log.lines.some((l) => l.msg === "predictions resumed")).toBe(true);
  }, 30_000);
});
