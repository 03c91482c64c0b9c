// RtuTransport over a scripted line: what goes out, in what order and after what silence,
// and which received bytes are taken as a reply. Fake timers drive the silent interval,
// timeouts and reconnect backoff.

import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ByteLine, LineHandlers } from "../../../src/sources/modbus/byte-line.js";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from "../../../src/sources/modbus/errors.js";
import { crc16Modbus, encodeRtuFrame } from "../../../src/sources/modbus/rtu-frame.js";
import {
  RtuTransport,
  type RtuTransportOptions,
} from "../../../src/sources/modbus/rtu-transport.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

function reply(bodyHex: string): Buffer {
  const body = hex(bodyHex);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16Modbus(body));
  return Buffer.concat([body, crc]);
}

/** A line whose far end each test scripts; it can fail to open and can be unplugged. */
class ScriptedLine implements ByteLine {
  readonly endpoint = "test://line";
  readonly written: Buffer[] = [];
  openFailures = 0;
  opens = 0;
  /** Called with each frame written; typically answers through `receive`. */
  onWrite: (frame: Buffer) => void = () => {};
  private handlers: LineHandlers | undefined;

  async open(handlers: LineHandlers): Promise<void> {
    if (this.openFailures > 0) {
      this.openFailures--;
      throw new Error("ENOENT: no such file or directory");
    }
    this.opens++;
    this.handlers = handlers;
  }

  write(bytes: Buffer): void {
    this.written.push(bytes);
    this.onWrite(bytes);
  }

  async close(): Promise<void> {
    this.handlers = undefined;
  }

  receive(bytes: Buffer): void {
    this.handlers?.data(bytes);
  }

  unplug(): void {
    const h = this.handlers;
    this.handlers = undefined;
    h?.closed("bad file descriptor");
  }
}

const READ_2 = hex("0000 0002");
let line: ScriptedLine;
let transport: RtuTransport;
let logs: Array<{ level: number; msg: string }>;

function makeTransport(extra: Partial<RtuTransportOptions> = {}): RtuTransport {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  transport = new RtuTransport({
    line,
    frameGapMs: 4,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    logger: pino({ level: "debug" }, sink),
    random: () => 0,
    now: () => Date.now(),
    ...extra,
  });
  return transport;
}

beforeEach(() => {
  vi.useFakeTimers();
  line = new ScriptedLine();
  logs = [];
});

afterEach(async () => {
  await transport?.stop();
  vi.useRealTimers();
});

describe("RtuTransport requests", () => {
  it("sends a CRC-framed request and resolves with the reply's payload", async () => {
    makeTransport();
    line.onWrite = () => line.receive(reply("01 03 04 00 2A FF FE"));
    await transport.start();
    const payload = await transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    expect(line.written[0]).toEqual(encodeRtuFrame(1, 3, READ_2));
    expect(payload).toEqual(hex("04 00 2A FF FE"));
  });

  it("keeps one request on the line and the silent interval before the next", async () => {
    makeTransport();
    await transport.start();
    const first = transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    const second = transport.request({
      unitId: 2,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    expect(line.written).toHaveLength(1);

    line.receive(reply("01 03 04 00 01 00 02"));
    await expect(first).resolves.toEqual(hex("04 0001 0002"));
    expect(line.written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3);
    expect(line.written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(line.written).toHaveLength(2);
    expect(line.written[1]?.[0]).toBe(2);

    line.receive(reply("02 03 04 00 03 00 04"));
    await expect(second).resolves.toEqual(hex("04 0003 0004"));
  });

  it("finds the reply behind noise and a corrupted frame, and counts them", async () => {
    makeTransport();
    const corrupted = reply("01 03 04 00 00 00 00");
    corrupted[5] = 0x77;
    line.onWrite = () => {
      line.receive(hex("00 FF"));
      line.receive(corrupted);
      line.receive(reply("01 03 04 00 0A 00 0B"));
    };
    await transport.start();
    const payload = transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    await expect(payload).resolves.toEqual(hex("04 000A 000B"));
    const health = transport.health();
    expect(health.crcErrors).toBe(1);
    expect(health.garbageBytes).toBe(2 + corrupted.length);
  });

  it("rejects an exception reply with its code", async () => {
    makeTransport();
    line.onWrite = () => line.receive(reply("05 83 02"));
    await transport.start();
    const err = await transport
      .request({ unitId: 5, functionCode: 3, payload: READ_2, timeoutMs: 500 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusExceptionError);
    expect(err).toMatchObject({ unitId: 5, functionCode: 3, exceptionCode: 2 });
    expect(transport.health().exceptions).toBe(1);
  });

  const read = (unitId: number) =>
    transport.request({ unitId, functionCode: 3, payload: READ_2, timeoutMs: 100 });

  it("never takes a late reply for the unit's next request", async () => {
    makeTransport();
    await transport.start();
    const firstErr = read(1).catch((e: unknown) => e);
    const second = read(1);

    await vi.advanceTimersByTimeAsync(100);
    expect(await firstErr).toBeInstanceOf(ModbusTimeoutError);
    // The first reply arrives late, long after the silent interval: the unit's next request
    // is held for one timeout, so the reply finds nothing of its unit in flight.
    await vi.advanceTimersByTimeAsync(60);
    expect(line.written).toHaveLength(1);
    line.receive(reply("01 03 04 DE AD BE EF"));
    await vi.advanceTimersByTimeAsync(39);
    expect(line.written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(line.written).toHaveLength(2);

    line.receive(reply("01 03 04 00 01 00 02"));
    await expect(second).resolves.toEqual(hex("04 0001 0002"));
    expect(transport.health()).toMatchObject({ timeouts: 1, garbageBytes: 9 });
  });

  it("lets other units go first while a unit that timed out is held", async () => {
    makeTransport();
    await transport.start();
    line.onWrite = (frame) => {
      if (frame[0] === 2) line.receive(reply("02 03 04 00 02 00 02"));
    };
    const firstErr = read(1).catch((e: unknown) => e);
    const again = read(1).catch((e: unknown) => e);
    const other = read(2);

    await vi.advanceTimersByTimeAsync(100);
    expect(await firstErr).toBeInstanceOf(ModbusTimeoutError);
    // Unit 2 goes after the silent interval, ahead of unit 1's held request.
    await vi.advanceTimersByTimeAsync(4);
    expect(line.written.map((f) => f[0])).toEqual([1, 2]);
    await expect(other).resolves.toEqual(hex("04 0002 0002"));
    await vi.advanceTimersByTimeAsync(95);
    expect(line.written).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(line.written.map((f) => f[0])).toEqual([1, 2, 1]);
    await vi.advanceTimersByTimeAsync(100);
    expect(await again).toBeInstanceOf(ModbusTimeoutError);
  });

  it("discards the adapter's echo, even of a request identical to its reply", async () => {
    makeTransport({ echo: true });
    // Write single register: the reply repeats the request byte for byte.
    line.onWrite = (frame) => {
      line.receive(frame.subarray(0, 5));
      line.receive(Buffer.concat([frame.subarray(5), frame]));
    };
    await transport.start();
    const write = transport.request({
      unitId: 1,
      functionCode: 6,
      payload: hex("0001 0003"),
      timeoutMs: 500,
    });
    await expect(write).resolves.toEqual(hex("0001 0003"));
    expect(transport.health()).toMatchObject({ echoDiscarded: 1, garbageBytes: 0 });
  });

  it("broadcasts writes without waiting for a reply and refuses broadcast reads", async () => {
    makeTransport({ turnaroundMs: 50 });
    await transport.start();
    const write = transport.request({
      unitId: 0,
      functionCode: 6,
      payload: hex("0001 0003"),
      timeoutMs: 500,
    });
    let settled = false;
    void write.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(write).resolves.toEqual(Buffer.alloc(0));

    const read = transport.request({ unitId: 0, functionCode: 3, payload: READ_2, timeoutMs: 1 });
    await expect(read).rejects.toThrow(/broadcast/);
    expect(line.written).toHaveLength(1);
  });
});

describe("RtuTransport line loss", () => {
  it("fails requests while down, reopens by itself, logs each transition once", async () => {
    makeTransport();
    await transport.start();
    const pending = transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    const queued = transport.request({
      unitId: 2,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    line.openFailures = 3;
    line.unplug();
    await expect(pending).rejects.toBeInstanceOf(ModbusDisconnectedError);
    await expect(queued).rejects.toBeInstanceOf(ModbusDisconnectedError);
    const whileDown = transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 5,
    });
    await expect(whileDown).rejects.toBeInstanceOf(ModbusDisconnectedError);
    expect(transport.connected).toBe(false);

    // Backoff 100, 200, 400 ms fail; the fourth attempt, 800 ms later, opens the line.
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 799);
    expect(transport.connected).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.connected).toBe(true);
    expect(transport.health().reconnects).toBe(1);

    const warnings = logs.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual(["modbus line lost"]);
    expect(logs.filter((l) => l.msg === "modbus line back")).toHaveLength(1);

    line.onWrite = () => line.receive(reply("01 03 04 00 01 00 02"));
    const after = transport.request({
      unitId: 1,
      functionCode: 3,
      payload: READ_2,
      timeoutMs: 500,
    });
    await expect(after).resolves.toEqual(hex("04 0001 0002"));
  });

  it("keeps trying when the line cannot be opened at start", async () => {
    makeTransport();
    line.openFailures = 2;
    await transport.start();
    expect(transport.connected).toBe(false);
    expect(transport.health().status).toBe("down");
    await vi.advanceTimersByTimeAsync(100 + 200);
    expect(transport.connected).toBe(true);
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1);
  });
});
