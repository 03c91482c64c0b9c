// A unit that stops answering, on a connection it shares with a healthy unit: the dead unit
// is cut short, degraded, skipped and probed with doubling pauses, and comes back at once;
// its neighbour's polls are never held up by more than one of its timeouts.

import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import type { Reading } from "../../../src/core/reading.js";
import { ModbusExceptionError } from "../../../src/sources/modbus/errors.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { FakeTransport, fakeClock, stopOnFakeTime } from "./fake-transport.js";

const TIMEOUT = 250;
const INTERVAL = 1000;
const degrade = { afterFailures: 2, skipMs: 2000, maxSkipMs: 5000 };

// The dead unit comes first, so its requests are ahead of its neighbour's at every tick.
const connection = connectionSchema.parse({
  name: "line1",
  host: "plc",
  timeoutMs: 1000,
  devices: [
    {
      name: "dead",
      unitId: 9,
      timeoutMs: TIMEOUT,
      retries: 1,
      degrade,
      groups: [
        {
          pollIntervalMs: INTERVAL,
          tags: [
            { name: "a", address: 0 },
            { name: "b", table: "inputRegister", address: 0 },
            { name: "c", table: "coil", address: 0, type: "bool" },
          ],
        },
      ],
    },
    {
      name: "good",
      unitId: 7,
      groups: [{ pollIntervalMs: INTERVAL, tags: [{ name: "x", address: 0 }] }],
    },
  ],
});

let transport: FakeTransport;
let readings: Reading[];
let events: GatewayEvent[];
let logs: { msg: string; level: number }[];
let poller: ModbusPoller;

beforeEach(async () => {
  vi.useFakeTimers({ now: 0 });
  transport = new FakeTransport();
  transport.dead.add(9);
  readings = [];
  events = [];
  logs = [];
  const stream = { write: (line: string) => logs.push(JSON.parse(line)) };
  poller = new ModbusPoller({
    connection,
    transport,
    sink: { write: (batch) => readings.push(...batch) },
    events: { event: (e) => events.push(e) },
    clock: fakeClock,
    logger: pino({ level: "debug" }, stream),
  });
  await poller.start();
});

afterEach(async () => {
  await stopOnFakeTime(poller);
  vi.useRealTimers();
});

const sentTo = (unitId: number) =>
  transport.requests.filter((r) => r.req.unitId === unitId).map((r) => r.at);

describe("a dead unit beside a healthy one", () => {
  it("never holds its neighbour up by more than one of its timeouts", async () => {
    await vi.advanceTimersByTimeAsync(30_000);
    const good = sentTo(7);
    expect(good.length).toBeGreaterThanOrEqual(29);
    for (let i = 1; i < good.length; i++) {
      expect(good[i]! - good[i - 1]!).toBeLessThanOrEqual(INTERVAL + TIMEOUT);
    }
    // It was held up at all: the test would prove nothing otherwise.
    expect(Math.max(...good.map((t) => t % INTERVAL))).toBe(TIMEOUT);
  });

  it("cuts a failed poll short, then skips and probes with doubling pauses", async () => {
    await vi.advanceTimersByTimeAsync(30_000);
    // A poll of one request and its retry; then, the unit down, one request without retry;
    // then probes of one request each, every skip from the start of the poll that failed:
    // 2000 after 1000, 4000 after 3000, then the 5000 cap.
    expect(sentTo(9)).toEqual([0, 250, 1000, 3000, 7000, 12000, 17000, 22000, 27000]);
    expect(poller.health().devices).toMatchObject({
      dead: { state: "degraded", polls: 8 },
      good: { state: "up" },
    });

    const dead = readings.filter((r) => r.tag.startsWith("dead."));
    expect(dead.slice(0, 3).map((r) => r.quality)).toMatchObject([
      { reason: "timeout", detail: "unit 9: no response within 250 ms" },
      { reason: "timeout", detail: "not polled: unit 9 did not answer an earlier request" },
      { reason: "timeout", detail: "not polled: unit 9 did not answer an earlier request" },
    ]);
    const skipped = dead.filter((r) => r.ts === 2000);
    expect(skipped).toHaveLength(3);
    for (const r of skipped) {
      expect(r.quality).toEqual({
        status: "bad",
        reason: "timeout",
        detail: "skipped: unit degraded",
      });
    }
    expect(
      readings.filter((r) => r.tag === "good.x").every((r) => r.quality.status === "good"),
    ).toBe(true);
  });

  it("comes back within maxSkipMs and one poll interval, logging transitions only", async () => {
    await vi.advanceTimersByTimeAsync(30_000);
    const healed = Date.now();
    transport.dead.delete(9);
    await vi.advanceTimersByTimeAsync(degrade.maxSkipMs + INTERVAL);

    const up = events.find((e) => e.kind === "device.up");
    expect(up?.source).toBe("dead");
    expect(up!.ts - healed).toBeLessThanOrEqual(degrade.maxSkipMs + INTERVAL);
    expect(events.map((e) => [e.kind, e.source])).toEqual([
      ["device.down", "dead"],
      ["device.degraded", "dead"],
      ["device.up", "dead"],
    ]);
    // Back to normal polling at once: every request of the next poll goes out.
    await vi.advanceTimersByTimeAsync(INTERVAL);
    const last = transport.requests.filter((r) => r.req.unitId === 9).slice(-3);
    expect(last.map((r) => r.req.functionCode).sort()).toEqual([1, 3, 4]);
    expect(poller.health().devices).toMatchObject({ dead: { state: "up", up: true } });

    const notable = logs.filter((l) => l.level >= 30).map((l) => l.msg);
    expect(notable).toEqual(["poller started", "device down", "device degraded", "device up"]);
  });
});

describe("a unit behind a gateway that answers exception 10 or 11 for it", () => {
  it.each([10, 11])("counts exception %i as no answer: down, degraded, skipped", async (code) => {
    // The dead unit of the other tests answers again, now through a gateway that says it
    // cannot reach it.
    transport.dead.delete(9);
    transport.reply = (req) => {
      if (req.unitId === 9) throw new ModbusExceptionError(9, req.functionCode, code);
      return Buffer.from([2, 0, 1]);
    };
    await vi.advanceTimersByTimeAsync(3000);

    expect(events.map((e) => [e.kind, e.source])).toEqual([
      ["device.down", "dead"],
      ["device.degraded", "dead"],
    ]);
    expect(poller.health().devices).toMatchObject({ dead: { state: "degraded" } });
    const dead = readings.filter((r) => r.tag.startsWith("dead."));
    const detail = "not polled: unit 9 did not answer an earlier request";
    expect(dead.slice(0, 3).map((r) => r.quality)).toEqual([
      expect.objectContaining({ reason: "exception", exceptionCode: code }),
      { status: "bad", reason: "exception", exceptionCode: code, detail },
      { status: "bad", reason: "exception", exceptionCode: code, detail },
    ]);
    // Its skipped readings say why it is skipped.
    const skipped = dead.filter((r) => r.ts === 2000);
    expect(skipped).toHaveLength(3);
    for (const r of skipped) {
      const quality = { status: "bad", reason: "exception", exceptionCode: code };
      expect(r.quality).toEqual({ ...quality, detail: "skipped: unit degraded" });
    }
    expect(readings.filter((r) => r.tag === "good.x").every((r) => r.value === 1)).toBe(true);
  });
});
