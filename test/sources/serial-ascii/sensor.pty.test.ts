// The SerialSensor on a real pseudo-terminal pair made by socat: the test writes frames into
// one end, the sensor reads the other through node-serialport. Then socat is killed and
// restarted with the same link names, as a USB adapter is unplugged and plugged back; and
// the link alone is removed, as udev removes an unplugged adapter's node.

import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sensorSchema } from "../../../src/config/schema.js";
import { systemClock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import type { Reading } from "../../../src/core/reading.js";
import { nmeaChecksum } from "../../../src/sources/serial-ascii/frame.js";
import { SerialSensor } from "../../../src/sources/serial-ascii/sensor.js";
import { socatMissing, startPtyPair } from "../../peers/pty-pair.js";
import { requireOrSkip } from "../../support/data.js";
import type { Proc } from "../../support/process.js";

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function nmea(body: string): string {
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, "0")}`;
}

type LogEntry = { level: number; msg: string } & Record<string, unknown>;

describe.runIf(requireOrSkip(socatMissing()))("SerialSensor on a socat pty pair", () => {
  const dir = fs.mkdtempSync(join(tmpdir(), "plantgate-pty-"));
  const writerEnd = join(dir, "a");
  const sensorEnd = join(dir, "b");
  const readings: Reading[] = [];
  const events: GatewayEvent[] = [];
  const logs: LogEntry[] = [];
  let socat: Proc | undefined;
  let sensor: SerialSensor | undefined;

  async function startSocat(): Promise<void> {
    socat = await startPtyPair(dir);
  }

  function write(text: string | Buffer): void {
    fs.writeFileSync(writerEnd, text);
  }

  const good = () => readings.filter((r) => r.quality.status === "good");
  // 0.1 has no exact binary form: 230 * 0.1 is 23.000000000000004.
  const rounded = (v: unknown) => Math.round(Number(v) * 1e6) / 1e6;

  beforeAll(async () => {
    await startSocat();
    const logStream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    });
    const config = sensorSchema.parse({
      name: "ws",
      path: sensorEnd,
      baudRate: 19200,
      format: "csv",
      checksum: "nmea",
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      fields: [
        { name: "temp", index: 1, scale: 0.1, unit: "°C" },
        { name: "hum", index: 2 },
      ],
    });
    sensor = new SerialSensor({
      config,
      sink: { write: (rs) => readings.push(...rs) },
      events: { event: (e) => events.push(e) },
      clock: systemClock,
      logger: pino({ level: "debug" }, logStream),
      summaryIntervalMs: 60_000,
    });
    await sensor.start();
  });

  afterAll(async () => {
    await sensor?.stop();
    await socat?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("turns good frames into readings and counts garbage without stopping", async () => {
    expect(sensor!.health()).toMatchObject({ status: "ok", open: true });
    const noise = Buffer.from([0xff, 0x00, 0x13, 0x80, 0xfe, 0x1b, 0x7f, 0xc3, 0x28, 0x0d]);
    write(`${nmea("WS,215,40")}\r\n`);
    write("hello there\r\n");
    write(`${nmea("WS,220,41").replace(/..$/, "00")}\r\n`);
    write(Buffer.concat([noise, Buffer.from("\n")]));
    write(`${nmea("WS,1")}\r\n`);
    write(`${nmea("WS,-35,x")}\r\n`);
    write(`${nmea("WS,230,42")}\r\n`);
    await until("the last good frame", () => good().some((r) => r.value === 42));

    const values = good().map((r) => [r.tag, rounded(r.value)]);
    expect(values).toEqual([
      ["ws.temp", 21.5],
      ["ws.hum", 40],
      ["ws.temp", -3.5],
      ["ws.temp", 23],
      ["ws.hum", 42],
    ]);
    const bad = readings.filter((r) => r.quality.status === "bad");
    expect(bad).toMatchObject([{ tag: "ws.hum", value: null, quality: { reason: "decode" } }]);

    const health = sensor!.health();
    expect(health).toMatchObject({ status: "degraded", lines: 7, parsed: 3, badFields: 1 });
    expect(health.garbage).toEqual({
      binary: 1,
      tooLong: 0,
      checksum: 2,
      format: 0,
      missingField: 1,
    });

    // One warn when the garbage started; each dropped line only at debug.
    const warns = logs.filter((l) => l.level >= 40);
    expect(warns.map((l) => l.msg)).toEqual([
      "sensor sending garbage: dropping bad lines, summary follows",
    ]);
    expect(logs.filter((l) => l.msg === "sensor line dropped")).toHaveLength(4);
  });

  it("reports the port down when it vanishes and reopens it when it returns", async () => {
    await socat!.stop();
    await until("device.down", () => events.some((e) => e.kind === "device.down"));
    expect(sensor!.health()).toMatchObject({ status: "down", open: false });
    const gap = readings.filter((r) => r.quality.status === "bad").slice(-2);
    expect(gap).toMatchObject([
      { tag: "ws.temp", value: null, quality: { reason: "disconnected" } },
      { tag: "ws.hum", value: null, quality: { reason: "disconnected" } },
    ]);
    expect(fs.existsSync(sensorEnd)).toBe(false);

    // Reopen attempts fail (ENOENT) for a while: one down event, no warn per attempt.
    await new Promise((r) => setTimeout(r, 600));
    expect(events.filter((e) => e.kind === "device.down")).toHaveLength(1);
    expect(logs.filter((l) => l.level >= 40 && /port/.test(l.msg))).toHaveLength(1);

    await startSocat();
    await until("device.up", () => events.some((e) => e.kind === "device.up"));
    expect(sensor!.health()).toMatchObject({ open: true, reconnects: 1 });
    write(`${nmea("WS,199,55")}\r\n`);
    await until("a frame after the reconnect", () => good().some((r) => r.value === 55));
    expect(
      good()
        .slice(-2)
        .map((r) => rounded(r.value)),
    ).toEqual([19.9, 55]);
  });

  // As a USB adapter's node goes while its tty, hung up, reports nothing: socat keeps the pty
  // working, only the path is gone, so the presence check alone can notice.
  it("notices its device path vanish while the port still reads, and reopens it", async () => {
    const downs = () => events.filter((e) => e.kind === "device.down").length;
    const ups = () => events.filter((e) => e.kind === "device.up").length;
    const before = { downs: downs(), ups: ups() };
    const pty = fs.readlinkSync(sensorEnd);
    fs.rmSync(sensorEnd);
    await until("device.down after the path vanished", () => downs() > before.downs);
    expect(events.at(-1)).toMatchObject({
      kind: "device.down",
      message: `sensor ws on ${sensorEnd}: device path vanished`,
    });
    expect(sensor!.health()).toMatchObject({ status: "down", open: false });
    expect(readings.at(-1)).toMatchObject({ value: null, quality: { reason: "disconnected" } });

    fs.symlinkSync(pty, sensorEnd);
    await until("device.up once the path is back", () => ups() > before.ups);
    write(`${nmea("WS,201,57")}\r\n`);
    await until("a frame after the path came back", () => good().some((r) => r.value === 57));
    expect(sensor!.health()).toMatchObject({ open: true, reconnects: 2 });
  });
});
