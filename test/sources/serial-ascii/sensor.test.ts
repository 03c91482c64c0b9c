// The SerialSensor's bookkeeping on an in-memory port with fake timers: what it logs about
// garbage and when, how it retries a port that cannot be opened, and that stop() ends it.

import { PassThrough, Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sensorSchema } from "../../../src/config/schema.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import type { Reading } from "../../../src/core/reading.js";
import type { SensorPort } from "../../../src/sources/serial-ascii/port.js";
import { SerialSensor } from "../../../src/sources/serial-ascii/sensor.js";

class FakePort extends PassThrough implements SensorPort {
  close(callback?: (err: Error | null) => void): void {
    if (this.destroyed) {
      callback?.(null);
      return;
    }
    this.once("close", () => callback?.(null));
    this.destroy();
  }
}

type LogEntry = { level: number; msg: string } & Record<string, unknown>;

function setup(
  openPort: () => Promise<SensorPort>,
  pattern?: string,
  extra: Record<string, unknown> = {},
) {
  const readings: Reading[] = [];
  const events: GatewayEvent[] = [];
  const logs: LogEntry[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const config = sensorSchema.parse({
    name: "scale",
    path: "/dev/ttyUSB9",
    format: pattern ? "regex" : "keyValue",
    pattern,
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    fields: [{ name: "weight", key: "W", scale: 1000 }],
    ...extra,
  });
  const sensor = new SerialSensor({
    config,
    sink: { write: (rs) => readings.push(...rs) },
    events: { event: (e) => events.push(e) },
    clock: { now: () => 1_700_000_000_000, monotonic: () => performance.now() },
    logger: pino({ level: "info" }, stream),
    openPort,
    random: () => 0,
    summaryIntervalMs: 1000,
  });
  const messages = (level: number) => logs.filter((l) => l.level === level).map((l) => l.msg);
  return { sensor, readings, events, logs, messages };
}

const WARN = 40;
const GARBAGE_STARTS = "sensor sending garbage: dropping bad lines, summary follows";
const INFO = 30;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("garbage in the log", () => {
  it("warns once when garbage starts, summarises per interval, says when it is over", async () => {
    const port = new FakePort();
    const { sensor, readings, messages, logs } = setup(async () => port);
    await sensor.start();

    port.write("W=0.5\n");
    for (let i = 0; i < 50; i++) port.write("#@!\n");
    port.write("W=oops\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(readings.map((r) => r.value)).toEqual([500, null]);
    expect(messages(WARN)).toEqual([GARBAGE_STARTS]);
    expect(sensor.health().status).toBe("degraded");

    await vi.advanceTimersByTimeAsync(1000);
    const summary = logs.find((l) => l.msg === "sensor garbage summary");
    expect(summary).toMatchObject({ lines: 52, dropped: { format: 50 }, badFields: 1 });

    // A quiet interval ends the episode; the next garbage warns again, once.
    port.write("W=1\n");
    await vi.advanceTimersByTimeAsync(1000);
    expect(messages(INFO)).toContain("sensor lines clean again");
    expect(sensor.health().status).toBe("ok");
    port.write("junk\njunk\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(messages(WARN).filter((m) => m.startsWith("sensor sending garbage"))).toHaveLength(2);

    await sensor.stop();
  });
});

describe("a stream that loses its delimiter", () => {
  it("counts one over-long line and reads the next frame", async () => {
    const port = new FakePort();
    const { sensor, readings } = setup(async () => port);
    await sensor.start();

    for (let i = 0; i < 1000; i++) port.write("W=0.5 W=0.5 W=0.5 ".repeat(50));
    port.write("\nW=0.25\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(sensor.health()).toMatchObject({ lines: 2, parsed: 1 });
    expect((sensor.health().garbage as Record<string, number>).tooLong).toBe(1);
    expect(readings.map((r) => r.value)).toEqual([250]);

    await sensor.stop();
  });
});

describe("opening the port", () => {
  it("reports a port that cannot be opened once, retries with backoff till it opens", async () => {
    const attempts: number[] = [];
    let available = false;
    const port = new FakePort();
    const { sensor, events, readings, messages } = setup(async () => {
      attempts.push(Date.now());
      if (!available) throw new Error("Error: No such file or directory, cannot open");
      return port;
    });
    const t0 = Date.now();
    await sensor.start();
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);
    expect(readings).toMatchObject([
      { tag: "scale.weight", value: null, quality: { reason: "disconnected" } },
    ]);

    await vi.advanceTimersByTimeAsync(1500);
    // Doubling from 100 ms, capped at 400 ms: 0, 100, 300, 700, 1100, 1500.
    expect(attempts.map((t) => t - t0)).toEqual([0, 100, 300, 700, 1100, 1500]);
    expect(messages(WARN)).toEqual(["sensor open failed; retrying in background"]);
    expect(sensor.health()).toMatchObject({ status: "down", lastError: expect.any(String) });

    available = true;
    await vi.advanceTimersByTimeAsync(400);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.up"]);
    port.write("W=2\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(readings.at(-1)).toMatchObject({ tag: "scale.weight", value: 2000 });
    await sensor.stop();
  });

  it("stops retrying when stopped", async () => {
    let calls = 0;
    const { sensor } = setup(async () => {
      calls++;
      throw new Error("EACCES");
    });
    await sensor.start();
    await sensor.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
  });

  it("fails at start, naming the sensor, when its pattern cannot work", async () => {
    const { sensor } = setup(async () => new FakePort(), "^(?<X>\\d+)$");
    await expect(sensor.start()).rejects.toThrow(/sensor scale: pattern has no group \(\?<W>/);
  });
});

describe("a sensor that falls silent with its port open", () => {
  it("is reported down once after timeoutMs without a good frame, up at the next", async () => {
    const port = new FakePort();
    const { sensor, events, readings, messages } = setup(async () => port, undefined, {
      timeoutMs: 1000,
    });
    await sensor.start();
    port.write("W=1\n");
    await vi.advanceTimersByTimeAsync(900);
    port.write("W=2\n");
    // Garbage is not a frame: it does not keep the sensor up.
    for (let t = 0; t < 5; t++) {
      await vi.advanceTimersByTimeAsync(300);
      port.write("#@!\n");
    }
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);
    expect(readings.map((r) => [r.value, r.quality.status])).toEqual([
      [1000, "good"],
      [2000, "good"],
      [null, "bad"],
    ]);
    expect(readings.at(-1)?.quality).toMatchObject({
      reason: "timeout",
      detail: "no good frame within 1000 ms",
    });
    expect(sensor.health().status).toBe("down");

    // Silence goes on: no second event, no line per timeout.
    await vi.advanceTimersByTimeAsync(5000);
    expect(events).toHaveLength(1);
    expect(messages(WARN).filter((m) => m.startsWith("sensor silent"))).toHaveLength(1);

    port.write("W=3\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.up"]);
    expect(messages(INFO)).toContain("sensor sending frames again");
    expect(readings.at(-1)).toMatchObject({ value: 3000, quality: { status: "good" } });
    await sensor.stop();
  });

  it("stays one outage when its port is then lost, and waits for frames again", async () => {
    let port = new FakePort();
    const { sensor, events, readings, messages } = setup(async () => port, undefined, {
      timeoutMs: 1000,
    });
    await sensor.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);

    // As the presence check closes a port whose device path vanished.
    const lost = port;
    port = new FakePort();
    lost.destroy(new Error("device path vanished"));
    await vi.advanceTimersByTimeAsync(50);
    expect(messages(WARN)).toContain("sensor port lost; reopening in background");
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);
    expect(readings).toHaveLength(1);

    // Reopened: up, and the wait for a frame starts over.
    await vi.advanceTimersByTimeAsync(100);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.up"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.up", "device.down"]);
    expect(readings.at(-1)?.quality).toMatchObject({ reason: "timeout" });
    await sensor.stop();
  });

  it("notices nothing without a timeoutMs", async () => {
    const port = new FakePort();
    const { sensor, events } = setup(async () => port);
    await sensor.start();
    port.write("W=1\n");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual([]);
    expect(sensor.health().status).toBe("ok");
    await sensor.stop();
  });
});
