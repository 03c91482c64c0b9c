// A device that accepts pipelined requests: the poller keeps up to its maxInFlight of a
// cycle's requests outstanding at once, across all its groups, against a transport fake that
// answers them concurrently, on fake time. And a lost connection that comes back: the
// device's degraded units are probed at their next poll instead of waiting out their skip.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ConnectionConfig, connectionSchema } from "../../../src/config/schema.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import type { Reading } from "../../../src/core/reading.js";
import type { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { FakeTransport, pollerOn, stopOnFakeTime } from "./fake-transport.js";

const TIMEOUT = 300;

/** Seven uint16 tags two registers apart: with two registers a read, seven requests. */
const TAGS = Array.from({ length: 7 }, (_, i) => ({ name: `t${i}`, address: 2 * i }));

function connection(device: Record<string, unknown>, groups?: unknown[]): ConnectionConfig {
  return connectionSchema.parse({
    name: "line1",
    host: "plc",
    timeoutMs: TIMEOUT,
    devices: [
      {
        name: "plc",
        unitId: 1,
        maxRegistersPerRead: 1,
        ...device,
        groups: groups ?? [{ pollIntervalMs: 1000, tags: TAGS }],
      },
    ],
  });
}

let transport: FakeTransport;
let readings: Reading[];
let events: GatewayEvent[];
let poller: ModbusPoller | undefined;

async function start(conn: ConnectionConfig): Promise<ModbusPoller> {
  poller = pollerOn(conn, transport, readings, events);
  await poller.start();
  return poller;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  transport = new FakeTransport();
  transport.pipelined = true;
  transport.delayMs = 100;
  for (let i = 0; i < 14; i++) transport.registers.writeUInt16BE(1000 + i, 2 * i);
  readings = [];
  events = [];
  poller = undefined;
});

afterEach(async () => {
  await stopOnFakeTime(poller);
  vi.useRealTimers();
});

describe("a device with maxInFlight", () => {
  it("keeps that many of a cycle's requests in flight, each with its own values", async () => {
    const p = await start(connection({ maxInFlight: 3 }));
    await vi.advanceTimersByTimeAsync(500);

    // Three at once; each lane sends its next request as soon as its last one is answered.
    expect(transport.requests.map((r) => r.at)).toEqual([0, 0, 0, 100, 100, 100, 200]);
    expect(transport.peakInFlight).toBe(3);
    expect(p.health().devices).toMatchObject({ plc: { peakInFlight: 3, polls: 1 } });
    const values = Object.fromEntries(readings.map((r) => [r.tag, r.value]));
    const written = TAGS.map((t, i) => [`plc.${t.name}`, 1000 + 2 * i]);
    expect(values).toEqual(Object.fromEntries(written));
    expect(readings.every((r) => r.quality.status === "good")).toBe(true);
  });

  it("sends one at a time by default", async () => {
    await start(connection({}));
    await vi.advanceTimersByTimeAsync(800);
    expect(transport.requests.map((r) => r.at)).toEqual([0, 100, 200, 300, 400, 500, 600]);
    expect(transport.peakInFlight).toBe(1);
  });

  it("keeps the device's requests within its maxInFlight over all its groups", async () => {
    const groups = [
      { name: "a", pollIntervalMs: 1000, tags: TAGS.slice(0, 4) },
      { name: "b", pollIntervalMs: 1000, tags: TAGS.slice(4) },
    ];
    await start(connection({ maxInFlight: 2 }, groups));
    await vi.advanceTimersByTimeAsync(500);
    expect(transport.requests).toHaveLength(7);
    expect(transport.peakInFlight).toBe(2);
  });

  it("costs one timeout when the unit stops answering: the rest of the cycle is cut", async () => {
    transport.dead.add(1);
    await start(connection({ maxInFlight: 3, degrade: { afterFailures: 5 } }));
    await vi.advanceTimersByTimeAsync(TIMEOUT);

    // Three went out together and timed out together; the four after them were not sent.
    expect(transport.requests.map((r) => [r.at, r.end])).toEqual([
      [0, TIMEOUT],
      [0, TIMEOUT],
      [0, TIMEOUT],
    ]);
    const reasons = readings.map((r) => (r.quality.status === "bad" ? r.quality.detail : ""));
    expect(reasons.filter((d) => d?.startsWith("unit 1: no response"))).toHaveLength(3);
    expect(reasons.filter((d) => d?.startsWith("not polled"))).toHaveLength(4);
    expect(events.map((e) => e.kind)).toEqual(["device.down"]);
  });

  it("probes a degraded unit with one request, then pipelines the rest", async () => {
    transport.dead.add(1);
    const degrade = { afterFailures: 1, skipMs: 2000, maxSkipMs: 2000 };
    await start(connection({ maxInFlight: 3, degrade }));
    await vi.advanceTimersByTimeAsync(1000);
    transport.dead.delete(1);
    const before = transport.requests.length;
    await vi.advanceTimersByTimeAsync(1500);

    // The probe at 2000 alone, then three at once.
    const probe = transport.requests.slice(before).map((r) => r.at);
    expect(probe).toEqual([2000, 2100, 2100, 2100, 2200, 2200, 2200]);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.degraded", "device.up"]);
  });
});

describe("a connection that comes back", () => {
  const degrade = { afterFailures: 1, skipMs: 10_000, maxSkipMs: 10_000 };

  it("has its degraded units probed at their next poll, not after their skip", async () => {
    transport.pipelined = false;
    transport.delayMs = 0;
    transport.dead.add(1);
    await start(connection({ degrade }, [{ pollIntervalMs: 1000, tags: TAGS.slice(0, 1) }]));
    await vi.advanceTimersByTimeAsync(1500);
    expect(events.map((e) => e.kind)).toEqual(["device.down", "device.degraded"]);

    transport.dead.delete(1);
    transport.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.requests.map((r) => r.at)).toEqual([0, 2000]);
    expect(events.map((e) => [e.kind, e.ts])).toEqual([
      ["device.down", TIMEOUT],
      ["device.degraded", TIMEOUT],
      ["device.up", 2000],
    ]);
  });

  it("leaves a unit that is being probed, or up, as it is", async () => {
    transport.pipelined = false;
    await start(connection({ degrade }, [{ pollIntervalMs: 1000, tags: TAGS.slice(0, 1) }]));
    await vi.advanceTimersByTimeAsync(500);
    transport.reconnect();
    await vi.advanceTimersByTimeAsync(2000);
    expect(transport.requests.map((r) => r.at)).toEqual([0, 1000, 2000]);
    expect(events).toEqual([]);
  });
});
