// The poller's per-device options against the serializing transport fake, on fake time:
// retries, the pause between requests, single-register reads, the address base, deadbands
// and exception-2 holes inside a merged read, and when they are forgotten.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ConnectionConfig, connectionSchema } from "../../../src/config/schema.js";
import type { Reading } from "../../../src/core/reading.js";
import { encodeRaw } from "../../../src/sources/modbus/codec.js";
import { ModbusExceptionError } from "../../../src/sources/modbus/errors.js";
import type { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { FakeTransport, pollerOn, stopOnFakeTime } from "./fake-transport.js";

let transport: FakeTransport;
let readings: Reading[];
let poller: ModbusPoller | undefined;

function connection(device: Record<string, unknown>, tags: unknown[]): ConnectionConfig {
  return connectionSchema.parse({
    name: "line1",
    host: "plc",
    timeoutMs: 300,
    devices: [{ name: "d", unitId: 1, ...device, groups: [{ pollIntervalMs: 1000, tags }] }],
  });
}

async function run(conn: ConnectionConfig, ms: number): Promise<void> {
  poller = pollerOn(conn, transport, readings);
  await poller.start();
  await vi.advanceTimersByTimeAsync(ms);
}

function values(tag: string): unknown[] {
  return readings.filter((r) => r.tag === `d.${tag}`).map((r) => r.value);
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  transport = new FakeTransport();
  readings = [];
  poller = undefined;
});

afterEach(async () => {
  await stopOnFakeTime(poller);
  vi.useRealTimers();
});

const TWO_TABLES = [
  { name: "a", address: 0 },
  { name: "run", table: "coil", address: 0, type: "bool" },
];

describe("retries", () => {
  it("tries a timed-out request again and keeps its values", async () => {
    transport.timeouts = 2;
    await run(connection({ retries: 2 }, [{ name: "a", address: 0 }]), 600);
    expect(transport.requests.map((r) => r.at)).toEqual([0, 300, 600]);
    expect(readings.map((r) => r.quality.status)).toEqual(["good"]);
    expect(readings[0]?.ts).toBe(600);
    expect(poller?.health().devices).toMatchObject({ d: { up: true, retries: 2 } });
  });

  it("gives up after its retries and does not retry an exception", async () => {
    transport.timeouts = 5;
    await run(connection({ retries: 1 }, [{ name: "a", address: 0 }]), 700);
    expect(transport.requests).toHaveLength(2);
    expect(readings[0]?.quality).toMatchObject({ reason: "timeout" });

    transport.timeouts = 0;
    transport.failWith = new ModbusExceptionError(1, 3, 4);
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.requests).toHaveLength(3);
    expect(readings.at(-1)?.quality).toMatchObject({ reason: "exception", exceptionCode: 4 });
  });

  it("spends no retries on a unit that did not answer its last poll", async () => {
    transport.timeouts = 4;
    await run(connection({ retries: 2 }, [{ name: "a", address: 0 }]), 2500);
    // Poll 1: the request and two retries. Poll 2, the unit down: one request. Poll 3 answers.
    expect(transport.requests.map((r) => r.at)).toEqual([0, 300, 600, 1000, 2000]);
    expect(readings.map((r) => r.quality.status)).toEqual(["bad", "bad", "good"]);

    // Up again, it has its retries back.
    transport.timeouts = 1;
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.requests.map((r) => r.at).slice(5)).toEqual([3000, 3300]);
    expect(readings.at(-1)?.quality.status).toBe("good");
  });

  it("tries again after a gateway's exception 11 (its own timeout), not after 10", async () => {
    transport.failWith = new ModbusExceptionError(1, 3, 11);
    await run(connection({ retries: 2 }, [{ name: "a", address: 0 }]), 0);
    expect(transport.requests).toHaveLength(3);
    expect(readings.at(-1)?.quality).toMatchObject({ reason: "exception", exceptionCode: 11 });

    transport.failWith = new ModbusExceptionError(1, 3, 10);
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.requests).toHaveLength(4);
    expect(readings.at(-1)?.quality).toMatchObject({ reason: "exception", exceptionCode: 10 });
  });
});

describe("requestDelayMs", () => {
  it("pauses between the end of one request to the device and the next", async () => {
    transport.delayMs = 40;
    await run(connection({ requestDelayMs: 150 }, TWO_TABLES), 1500);
    const [first, second, third] = transport.requests;
    expect(first?.at).toBe(0);
    expect(second?.at).toBe(190); // 40 ms answer + 150 ms pause
    // The next poll starts on its tick: the pause after the last request has run out.
    expect(third?.at).toBe(1000);
    expect(readings.filter((r) => r.quality.status === "good")).toHaveLength(4);
  });
});

describe("singleRegisterReads", () => {
  it("reads one tag per request, a 32-bit tag in one request of two registers", async () => {
    encodeRaw("float32", "ABCD", 2.5).copy(transport.registers, 2);
    const tags = [
      { name: "a", address: 0 },
      { name: "f", address: 1, type: "float32" },
      { name: "b", address: 3 },
    ];
    await run(connection({ singleRegisterReads: true }, tags), 0);
    expect(transport.requests.map((r) => [r.address, r.quantity])).toEqual([
      [0, 1],
      [1, 2],
      [3, 1],
    ]);
    expect(values("f")).toEqual([2.5]);
  });
});

describe("addressBase", () => {
  it("reads address 1 of a one-based map at protocol address 0", async () => {
    encodeRaw("uint16", "ABCD", 77).copy(transport.registers, 0);
    await run(connection({ addressBase: 1 }, [{ name: "first", address: 1 }]), 0);
    expect(transport.requests.map((r) => r.address)).toEqual([0]);
    expect(values("first")).toEqual([77]);
  });

  it("refuses to start with an address below the base, naming the tag", async () => {
    const conn = connection({ addressBase: 1 }, [{ name: "zeroth", address: 0 }]);
    poller = pollerOn(conn, transport);
    await expect(poller.start()).rejects.toThrow(/device d group default: tag zeroth: address 0/);
    poller = undefined;
  });
});

describe("deadband", () => {
  const tags = [
    { name: "level", address: 0, type: "int16", deadband: 5, maxSilentMs: 3500 },
    { name: "raw", address: 1, type: "int16" },
  ];
  const set = (v: number) => encodeRaw("int16", "ABCD", v).copy(transport.registers, 0);

  it("emits a value that moved more than the deadband, or after maxSilentMs", async () => {
    set(100);
    await run(connection({}, tags), 0);
    for (const v of [103, 105, 106, 100, 100, 100, 100, 100]) {
      set(v);
      await vi.advanceTimersByTimeAsync(1000);
    }
    // 103 and 105 moved 5 at most; 106 moved 6, then 100 moved 6; 3.5 s later it is sent again.
    const level = readings.filter((r) => r.tag === "d.level");
    expect(level.map((r) => [r.ts, r.value])).toEqual([
      [0, 100],
      [3000, 106],
      [4000, 100],
      [8000, 100],
    ]);
    expect(values("raw")).toHaveLength(9); // no deadband: every poll
    expect(poller?.health()).toMatchObject({ suppressed: 5 });
  });

  it("always emits bad readings and the first good one after them", async () => {
    set(100);
    await run(connection({ degrade: { afterFailures: 5 } }, tags), 0);
    transport.timeouts = 2;
    await vi.advanceTimersByTimeAsync(2000);
    await vi.advanceTimersByTimeAsync(1000);
    const level = readings.filter((r) => r.tag === "d.level");
    expect(level.map((r) => r.quality.status)).toEqual(["good", "bad", "bad", "good"]);
    expect(level.at(-1)?.value).toBe(100);
  });
});

describe("exception 2 inside a merged read", () => {
  const tags = [0, 1, 2, 3, 4, 5, 8, 9].map((a) => ({ name: `t${a}`, address: a }));

  it("gives only the tags in the hole bad readings, then reads around it", async () => {
    for (let a = 0; a < 10; a++)
      encodeRaw("uint16", "ABCD", 100 + a).copy(transport.registers, a * 2);
    transport.illegal.add(3);
    transport.illegal.add(6); // a gap register no tag uses
    await run(connection({}, tags), 0);

    const byTag = new Map(readings.map((r) => [r.tag, r]));
    expect(byTag.get("d.t3")?.quality).toMatchObject({
      status: "bad",
      reason: "exception",
      exceptionCode: 2,
    });
    for (const a of [0, 1, 2, 4, 5, 8, 9]) {
      expect(byTag.get(`d.t${a}`)).toMatchObject({ value: 100 + a, quality: { status: "good" } });
    }

    const firstPoll = transport.requests.length;
    await vi.advanceTimersByTimeAsync(1000);
    const second = transport.requests.slice(firstPoll).map((r) => [r.address, r.quantity]);
    expect(second).toEqual([
      [0, 3],
      [3, 1],
      [4, 2],
      [8, 2],
    ]);
    expect(poller?.health().devices).toMatchObject({
      d: { up: true, holes: { holdingRegister: { illegal: [3], breaks: [8] } } },
    });
  });

  it("keeps the holes over a missed poll, forgets them when back from degraded", async () => {
    transport.illegal.add(3);
    await run(connection({}, tags), 1000);
    const learned = { holdingRegister: { illegal: [3], breaks: [] } };
    expect(poller?.health().devices).toMatchObject({ d: { holes: learned } });

    // One poll without an answer: down, not degraded; what was learned stays.
    transport.dead.add(1);
    await vi.advanceTimersByTimeAsync(1000);
    transport.dead.delete(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(poller?.health().devices).toMatchObject({ d: { state: "up", holes: learned } });

    // Out long enough to be degraded (three polls that time out); meanwhile the device got
    // a full map (new firmware).
    transport.dead.add(1);
    await vi.advanceTimersByTimeAsync(3500);
    expect(poller?.health().devices).toMatchObject({ d: { state: "degraded" } });
    transport.dead.delete(1);
    transport.illegal.clear();
    // The probe, within the default skip (5 s) and a poll.
    await vi.advanceTimersByTimeAsync(6000);
    expect(poller?.health().devices).toMatchObject({ d: { state: "up", holes: {} } });

    // Planned afresh: one merged read again, and the tag that was in the hole reads well.
    const since = transport.requests.length;
    await vi.advanceTimersByTimeAsync(1000);
    const next = transport.requests.slice(since).map((r) => [r.address, r.quantity]);
    expect(next).toEqual([[0, 10]]);
    expect(readings.filter((r) => r.tag === "d.t3").at(-1)?.quality.status).toBe("good");
  });
});
