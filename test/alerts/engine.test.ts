import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { AlertEngine } from "../../src/alerts/engine.js";
import type { RuleState } from "../../src/alerts/rule.js";
import { ruleSchema } from "../../src/config/schema.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { createLogger } from "../../src/core/logger.js";

/** An engine on one "below" rule with a fake clock; what it logs, records and drives. */
function rig(onChange?: () => Promise<void>) {
  let t = 0;
  const logs: Array<{ msg: string }> = [];
  const events: GatewayEvent[] = [];
  const driven: Array<ReadonlyMap<string, RuleState>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const rule = ruleSchema.parse({
    name: "eff",
    below: { warning: 80, alarm: 70 },
    debounceMs: 1000,
  });
  const engine = new AlertEngine({
    rules: [rule],
    clock: { now: () => 1_700_000_000_000 + t, monotonic: () => t },
    logger: createLogger("info", sink),
    events: { event: (e) => events.push(e) },
    onChange: async (states) => {
      driven.push(states);
      await onChange?.();
    },
  });
  /** Feeds one value per 100 ms. */
  const feed = (values: Array<number | undefined>) => {
    for (const v of values) {
      engine.feed("prediction", v);
      t += 100;
    }
  };
  return { engine, logs, events, driven, feed };
}

describe("alert engine", () => {
  it("records raised, unknown and known again, but no clearance at start", async () => {
    const { engine, logs, events, driven, feed } = rig();
    await engine.start();
    feed(Array(12).fill(90));
    expect(engine.states().get("eff")).toBe("ok");
    // Reading ok for the first time clears nothing.
    expect(events).toEqual([]);
    expect(logs.map((l) => l.msg)).toEqual(["alert state known"]);

    feed(Array(12).fill(60));
    feed(Array(12).fill(undefined));
    feed(Array(12).fill(60));
    expect(events.map((e) => [e.kind, e.data?.severity])).toEqual([
      ["alert.raised", "alarm"],
      ["alert.unknown", "unknown"],
      ["alert.known", "alarm"],
    ]);
    await engine.stop();
    expect(driven.map((s) => s.get("eff"))).toEqual(["ok", "alarm", "unknown", "alarm"]);
    expect(engine.health()).toMatchObject({ status: "ok", raised: 1 });
  });

  it("clears back to ok with an event, and takes no values once stopped", async () => {
    const { engine, events, driven, feed } = rig();
    await engine.start();
    feed([...Array(12).fill(60), ...Array(12).fill(90)]);
    expect(events.map((e) => e.kind)).toEqual(["alert.raised", "alert.cleared"]);
    await engine.stop();
    feed(Array(12).fill(60));
    expect(engine.states().get("eff")).toBe("ok");
    expect(driven.map((s) => s.get("eff"))).toEqual(["alarm", "ok"]);
  });

  it("counts outputs it could not drive and reports itself degraded", async () => {
    const { engine, logs, feed } = rig(async () => {
      throw new Error("gpio write failed");
    });
    await engine.start();
    feed(Array(12).fill(60));
    await engine.stop();
    expect(engine.health()).toMatchObject({ status: "degraded", outputFailures: 1 });
    expect(logs.some((l) => l.msg === "outputs not driven")).toBe(true);
  });
});
