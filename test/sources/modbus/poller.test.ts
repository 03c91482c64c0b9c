// The poller against a transport fake that answers from a register map, with fake timers:
// scheduling, decoding, qualities and device up/down transitions.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ConnectionConfig, connectionSchema } from "../../../src/config/schema.js";
import type { Clock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading } from "../../../src/core/reading.js";
import { encodeRaw } from "../../../src/sources/modbus/codec.js";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from "../../../src/sources/modbus/errors.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { FakeTransport, stopOnFakeTime } from "./fake-transport.js";

function connection(extra: Record<string, unknown> = {}): ConnectionConfig {
  return connectionSchema.parse({
    name: "line1",
    host: "plc",
    timeoutMs: 500,
    devices: [
      {
        name: "press",
        unitId: 7,
        timeoutMs: 250,
        groups: [
          {
            name: "fast",
            pollIntervalMs: 1000,
            tags: [
              { name: "temp", address: 0, type: "float32", order: "CDAB" },
              { name: "count", address: 2, type: "int32", order: "DCBA" },
              { name: "level", address: 4, type: "uint16", scale: 0.5, offset: -1 },
              { name: "delta", address: 5, type: "int16", order: "BADC" },
              { name: "run", table: "coil", address: 3, type: "bool" },
            ],
          },
        ],
      },
    ],
    ...extra,
  });
}

let transport: FakeTransport;
let batches: Reading[][];
let events: GatewayEvent[];
let poller: ModbusPoller;
const clock: Clock = { now: () => Date.now() + 1_000_000, monotonic: () => Date.now() };

function makePoller(conn = connection()): ModbusPoller {
  poller = new ModbusPoller({
    connection: conn,
    transport,
    sink: { write: (r) => batches.push([...r]) },
    events: { event: (e) => events.push(e) },
    clock,
    logger: silentLogger(),
  });
  return poller;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  transport = new FakeTransport();
  batches = [];
  events = [];
  encodeRaw("float32", "CDAB", 21.5).copy(transport.registers, 0);
  encodeRaw("int32", "DCBA", -123456).copy(transport.registers, 4);
  encodeRaw("uint16", "ABCD", 41).copy(transport.registers, 8);
  encodeRaw("int16", "BADC", -2).copy(transport.registers, 10);
  transport.coils[0] = 0b0000_1000;
});

afterEach(async () => {
  await stopOnFakeTime(poller);
  vi.useRealTimers();
});

describe("ModbusPoller", () => {
  it("reads, decodes and writes one batch per request", async () => {
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(0);

    expect(
      transport.requests.map((r) => [r.req.functionCode, r.req.payload.toString("hex")]),
    ).toEqual([
      [1, "00030001"],
      [3, "00000006"],
    ]);
    expect(transport.requests[0]?.req).toMatchObject({ unitId: 7, timeoutMs: 250 });
    expect(batches).toHaveLength(2);
    const values = Object.fromEntries(batches.flat().map((r) => [r.tag, r.value]));
    expect(values).toEqual({
      "press.run": true,
      "press.temp": 21.5,
      "press.count": -123456,
      "press.level": 19.5,
      "press.delta": -2,
    });
    for (const r of batches.flat()) {
      expect(r.quality).toEqual({ status: "good" });
      expect(r.ts).toBe(1_000_000);
    }
    expect(poller.progress).toBe(1);
  });

  it("stamps readings when the response arrives and keeps ticks on the start grid", async () => {
    transport.delayMs = 300;
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(3100);

    const starts = transport.requests.filter((r) => r.req.functionCode === 1).map((r) => r.at);
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    expect(batches[0]?.[0]?.ts).toBe(1_000_300);
    expect(poller.progress).toBe(3);
    expect(poller.health().devices).toMatchObject({ press: { polls: 3, overruns: 0 } });
  });

  it("skips and counts the ticks an overrunning cycle missed", async () => {
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(0);
    transport.delayMs = 1300; // two requests: the cycle at 1000 ends at 3600
    await vi.advanceTimersByTimeAsync(3000);
    transport.delayMs = 0;
    await vi.advanceTimersByTimeAsync(1000);

    const starts = transport.requests.filter((r) => r.req.functionCode === 1).map((r) => r.at);
    expect(starts).toEqual([0, 1000, 4000]);
    expect(poller.health().devices).toMatchObject({ press: { overruns: 2 } });
  });

  it("writes bad readings and records device down and up on transitions only", async () => {
    const conn = connection();
    conn.devices[0]!.degrade.afterFailures = 10; // degradation is tested on its own
    await makePoller(conn).start();
    await vi.advanceTimersByTimeAsync(0);
    transport.failWith = new ModbusTimeoutError(7, 250);
    await vi.advanceTimersByTimeAsync(3000);

    const bad = batches.slice(2).flat();
    expect(bad).toHaveLength(15);
    for (const r of bad) {
      expect(r.value).toBeNull();
      expect(r.quality).toMatchObject({ status: "bad", reason: "timeout" });
    }
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);
    expect(events[0]).toMatchObject({ source: "press", ts: 1_001_000 });
    expect(poller.health()).toMatchObject({
      status: "down",
      devices: { press: { up: false, polls: 4, failures: 3, lastGoodTs: 1_000_000 } },
    });

    transport.failWith = undefined;
    await vi.advanceTimersByTimeAsync(2000);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.up"]);
    expect(poller.health()).toMatchObject({ status: "ok", devices: { press: { up: true } } });
  });

  it("reports a device that never answered as down", async () => {
    transport.failWith = new ModbusDisconnectedError("tcp://fake:502");
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(2000);
    // Down at once; degraded (skipped, then probed) once it kept failing.
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.degraded"]);
    expect(batches.flat()[0]?.quality).toMatchObject({ reason: "disconnected" });
  });

  it("marks an exception response bad but keeps the device up", async () => {
    transport.failWith = new ModbusExceptionError(7, 3, 2);
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(batches.flat()[0]?.quality).toMatchObject({
      status: "bad",
      reason: "exception",
      exceptionCode: 2,
    });
    expect(events).toEqual([]);
    expect(poller.health().devices).toMatchObject({ press: { up: true, failures: 2 } });
  });

  it("marks a response of the wrong length as a decode failure", async () => {
    transport.reply = () => Buffer.from("0400000000", "hex");
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(0);
    const registerBatch = batches[1] ?? [];
    expect(registerBatch).toHaveLength(4);
    for (const r of registerBatch) expect(r.quality).toMatchObject({ reason: "decode" });
  });

  it("stores a NaN float as a bad reading and keeps its neighbours", async () => {
    Buffer.from("00007fc0", "hex").copy(transport.registers, 0);
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(0);
    const byTag = Object.fromEntries(batches.flat().map((r) => [r.tag, r]));
    expect(byTag["press.temp"]).toMatchObject({ value: null, quality: { reason: "decode" } });
    expect(byTag["press.count"]?.value).toBe(-123456);
  });

  it("polls nothing after stop", async () => {
    await makePoller().start();
    await vi.advanceTimersByTimeAsync(1500);
    await poller.stop();
    const seen = transport.requests.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(transport.requests.length).toBe(seen);
  });

  it("refuses to start when a tag exceeds the device's read cap", async () => {
    const conn = connection();
    const device = conn.devices[0];
    if (device) device.maxRegistersPerRead = 1;
    await expect(makePoller(conn).start()).rejects.toThrow(/temp/);
  });
});
