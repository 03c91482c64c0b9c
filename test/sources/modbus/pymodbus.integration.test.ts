// The whole Modbus source (TCP transport + poller) against an independent peer: a pymodbus
// 3.0 server whose registers were written by pymodbus's own BinaryPayloadBuilder, with a hole
// in its holding-register map. Expected values are the values handed to pymodbus, never bytes
// from our encoder.

import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { systemClock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading, Value } from "../../../src/core/reading.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { createTransport } from "../../../src/sources/modbus/source.js";
import type { ModbusTransport, PduRequest } from "../../../src/sources/modbus/transport.js";
import { repoRoot, requireOrSkip } from "../../support/data.js";
import { freePort } from "../../support/ports.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../../support/pymodbus.js";

type Table = "holdingRegister" | "inputRegister" | "coil" | "discreteInput";
type Order = "ABCD" | "CDAB" | "BADC" | "DCBA";
type Row = [string, Table, number, string, Order, number | boolean | string];

// What pymodbus writes: 64-bit integers as decimal strings (exact above 2^53).
const ROWS: Row[] = [
  ["f_abcd", "holdingRegister", 0, "float32", "ABCD", 21.5],
  ["f_cdab", "holdingRegister", 2, "float32", "CDAB", -3.25],
  ["f_badc", "holdingRegister", 4, "float32", "BADC", 1234.5],
  ["f_dcba", "holdingRegister", 6, "float32", "DCBA", 0.15625],
  ["u16_abcd", "holdingRegister", 8, "uint16", "ABCD", 65000],
  ["u16_badc", "holdingRegister", 9, "uint16", "BADC", 0x1234],
  // A gap of unused registers the planner reads across.
  ["i16_abcd", "holdingRegister", 15, "int16", "ABCD", -1234],
  ["i16_dcba", "holdingRegister", 16, "int16", "DCBA", -2],
  ["u16_cdab", "holdingRegister", 17, "uint16", "CDAB", 258],
  ["i16_badc", "holdingRegister", 18, "int16", "BADC", -32768],
  ["d_abcd", "holdingRegister", 20, "float64", "ABCD", 1234.5678],
  ["d_cdab", "holdingRegister", 24, "float64", "CDAB", -2.5e-300],
  ["d_badc", "holdingRegister", 28, "float64", "BADC", 9007199254740994],
  ["d_dcba", "holdingRegister", 32, "float64", "DCBA", -0.1],
  ["i64_abcd", "holdingRegister", 36, "int64", "ABCD", "9223372036854775807"],
  ["i64_cdab", "holdingRegister", 40, "int64", "CDAB", "-9223372036854775808"],
  ["i64_badc", "holdingRegister", 44, "int64", "BADC", "9007199254740993"],
  ["i64_dcba", "holdingRegister", 48, "int64", "DCBA", "-9007199254740993"],
  ["u64_abcd", "holdingRegister", 52, "uint64", "ABCD", "18446744073709551615"],
  ["u64_cdab", "holdingRegister", 56, "uint64", "CDAB", "9007199254740993"],
  ["u64_badc", "holdingRegister", 60, "uint64", "BADC", "72623859790382856"],
  ["u64_dcba", "holdingRegister", 64, "uint64", "DCBA", "1"],
  ["s_abcd", "holdingRegister", 70, "string", "ABCD", "PUMP-7"],
  ["s_badc", "holdingRegister", 75, "string", "BADC", "ODD"],
  ["s_dcba", "holdingRegister", 79, "string", "DCBA", "SN42  "],
  ["s_cdab", "holdingRegister", 84, "string", "CDAB", "XY"],
  ["flags", "holdingRegister", 90, "uint16", "ABCD", 0x8009],
  ["flags_badc", "holdingRegister", 91, "uint16", "BADC", 0x0102],
  ["nan32", "holdingRegister", 92, "float32", "ABCD", "nan"],
  ["nan64", "holdingRegister", 94, "float64", "CDAB", "nan"],
  // 112 is the hole: the server's map has no register there.
  ["below_hole", "holdingRegister", 110, "uint16", "ABCD", 110],
  ["next_below", "holdingRegister", 111, "int16", "ABCD", -111],
  ["above_hole", "holdingRegister", 113, "uint32", "CDAB", 113113],
  ["i32_abcd", "inputRegister", 0, "int32", "ABCD", -123456789],
  ["i32_cdab", "inputRegister", 2, "int32", "CDAB", 987654321],
  ["i32_badc", "inputRegister", 4, "int32", "BADC", -70000],
  ["i32_dcba", "inputRegister", 6, "int32", "DCBA", 16909060],
  ["u32_cdab", "inputRegister", 8, "uint32", "CDAB", 3000000000],
  ["u32_badc", "inputRegister", 10, "uint32", "BADC", 4294967295],
  ["u32_abcd", "inputRegister", 12, "uint32", "ABCD", 1],
  ["u32_dcba", "inputRegister", 14, "uint32", "DCBA", 65536],
  ["run", "coil", 5, "bool", "ABCD", true],
  ["stopped", "coil", 6, "bool", "ABCD", false],
  ["door", "discreteInput", 9, "bool", "ABCD", true],
  ["closed", "discreteInput", 10, "bool", "ABCD", false],
  // A map wider than one read: 100..360 in steps of 10, read in several requests of ≤ 125.
  ...Array.from({ length: 27 }, (_, i): Row => {
    return [`wide${i}`, "inputRegister", 100 + 10 * i, "uint16", "ABCD", 7 * i];
  }),
];

const HOLES = [["holdingRegister", 112]];

interface Check {
  tag: Record<string, unknown> & { name: string };
  expected: Value | "nan" | "exception 2";
}

function expected(row: Row): Check["expected"] {
  const [, , , type, , value] = row;
  if (value === "nan") return "nan";
  if (type === "int64" || type === "uint64") return BigInt(value as string);
  if (type === "float32") return Math.fround(value as number);
  if (type === "string") return (value as string).trimEnd();
  return value;
}

const CHECKS: Check[] = [
  ...ROWS.map((row): Check => {
    const [name, table, address, type, order, value] = row;
    // One register more than the text needs: the NULs after it must be trimmed.
    const length = type === "string" ? Math.ceil(String(value).length / 2) + 1 : undefined;
    return { tag: { name, table, address, type, order, length }, expected: expected(row) };
  }),
  // Bits of the register pymodbus wrote as 0x8009, and of 0x0102 written BADC.
  ...[0, 1, 3, 8, 15].map((bit) => ({
    tag: { name: `flag${bit}`, address: 90, type: "bit", bit },
    expected: ((0x8009 >> bit) & 1) === 1,
  })),
  ...[1, 8].map((bit) => ({
    tag: { name: `flagb${bit}`, address: 91, type: "bit", bit, order: "BADC" },
    expected: ((0x0102 >> bit) & 1) === 1,
  })),
  { tag: { name: "in_hole", address: 112 }, expected: "exception 2" },
];

async function untilAccepting(port: number, peer: ChildProcess): Promise<void> {
  await until("pymodbus accepting connections", async () => {
    if (peer.exitCode !== null) throw new Error(`pymodbus server exited (${peer.exitCode})`);
    return new Promise<boolean>((resolve) => {
      const s = net
        .connect(port, "127.0.0.1", () => resolve(true))
        .on("error", () => resolve(false));
      s.once("connect", () => s.destroy());
    });
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The real transport, with a record of every request the poller made. */
function recording(inner: ModbusTransport, sent: PduRequest[]): ModbusTransport {
  return {
    name: inner.name,
    endpoint: inner.endpoint,
    get connected() {
      return inner.connected;
    },
    start: () => inner.start(),
    stop: () => inner.stop(),
    health: () => inner.health(),
    request: (req) => {
      sent.push(req);
      return inner.request(req);
    },
  };
}

describe.runIf(requireOrSkip(pymodbusMissing()))("Modbus source against pymodbus 3.0", () => {
  let peer: ChildProcess | undefined;
  let port = 0;
  let stderr = "";

  beforeAll(async () => {
    port = await freePort();
    const script = join(repoRoot, "test/peers/pymodbus-server.py");
    const entries = ROWS.map(([name, table, address, type, order, value]) => {
      return { name, table, address, type, order, value };
    });
    const args = [script, String(port), JSON.stringify(entries), JSON.stringify(HOLES)];
    peer = spawn(SYSTEM_PYTHON, args, { stdio: ["ignore", "ignore", "pipe"] });
    peer.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await untilAccepting(port, peer).catch((err: Error) => {
      throw new Error(`${err.message}\n${stderr}`);
    });
  });

  afterAll(async () => {
    if (peer === undefined || peer.exitCode !== null) return;
    const exited = new Promise((resolve) => peer?.once("exit", resolve));
    peer.kill("SIGTERM");
    const timer = setTimeout(() => peer?.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  });

  it("reads every type and order as pymodbus wrote them, around a hole", async () => {
    const connection = connectionSchema.parse({
      name: "peer",
      host: "127.0.0.1",
      port,
      timeoutMs: 2000,
      devices: [
        {
          name: "plc",
          unitId: 1,
          groups: [
            { pollIntervalMs: 200, tags: CHECKS.map((c) => c.tag) },
            // Beyond the server's 400 registers: exception 2 from a device that is up.
            { name: "missing", tags: [{ name: "far", address: 5000, type: "uint16" }] },
          ],
        },
        // pymodbus does not answer a unit it does not serve: a device that times out.
        {
          name: "ghost",
          unitId: 9,
          timeoutMs: 200,
          groups: [{ tags: [{ name: "x", address: 0 }] }],
        },
      ],
    });
    const readings: Reading[] = [];
    const events: GatewayEvent[] = [];
    const sent: PduRequest[] = [];
    const transport = recording(createTransport(connection, { logger: silentLogger() }), sent);
    const poller = new ModbusPoller({
      connection,
      transport,
      sink: { write: (batch) => readings.push(...batch) },
      events: { event: (e) => events.push(e) },
      clock: systemClock,
      logger: silentLogger(),
    });

    await transport.start();
    await poller.start();
    try {
      // Three readings of every tag: the later polls are planned around the hole.
      const wanted = [...CHECKS.map((c) => `plc.${c.tag.name}`), "plc.far", "ghost.x"];
      await until("three readings of every tag and the ghost down", () => {
        const counts = new Map<string, number>();
        for (const r of readings) counts.set(r.tag, (counts.get(r.tag) ?? 0) + 1);
        return events.length > 0 && wanted.every((t) => (counts.get(t) ?? 0) >= 3);
      });
    } finally {
      await poller.stop();
      await transport.stop();
    }

    const latest = new Map(readings.map((r) => [r.tag, r]));
    for (const { tag, expected } of CHECKS) {
      const reading = latest.get(`plc.${tag.name}`);
      if (expected === "nan") {
        // A NaN float is an instrument without a value: stored as a bad reading, not a number.
        expect(reading, tag.name).toMatchObject({ value: null, quality: { reason: "decode" } });
      } else if (expected === "exception 2") {
        const quality = { status: "bad", reason: "exception", exceptionCode: 2 };
        expect(reading, tag.name).toMatchObject({ value: null, quality });
      } else {
        expect(reading, tag.name).toMatchObject({ value: expected, quality: { status: "good" } });
      }
    }
    expect(typeof latest.get("plc.u64_abcd")?.value).toBe("bigint");
    // The hole's neighbours were good from the first poll on, the one that found the hole.
    const neighbours = readings.filter((r) =>
      /^plc\.(below_hole|next_below|above_hole)$/.test(r.tag),
    );
    expect(neighbours.length).toBeGreaterThanOrEqual(9);
    for (const r of neighbours) expect(r.quality, r.tag).toEqual({ status: "good" });

    expect(latest.get("plc.far")).toMatchObject({
      value: null,
      quality: { status: "bad", reason: "exception", exceptionCode: 2 },
    });
    expect(latest.get("ghost.x")?.quality).toMatchObject({ status: "bad", reason: "timeout" });
    // Down first; degraded too if it failed long enough. Nothing about the healthy unit.
    expect(events[0]).toMatchObject({ kind: "device.down", source: "ghost" });
    for (const e of events) {
      expect(e.source).toBe("ghost");
      expect(["device.down", "device.degraded"]).toContain(e.kind);
    }
    expect(poller.health()).toMatchObject({
      status: "degraded",
      devices: {
        plc: { up: true, holes: { holdingRegister: { illegal: [112, 5000] } } },
        ghost: { up: false },
      },
    });

    // No read ever exceeded the protocol's 125 registers, and the wide map took several.
    const registerReads = sent.filter((r) => r.functionCode === 3 || r.functionCode === 4);
    const spans = registerReads.map((r) => [r.payload.readUInt16BE(0), r.payload.readUInt16BE(2)]);
    for (const [, quantity] of spans) expect(quantity).toBeLessThanOrEqual(125);
    const wide = new Set(
      registerReads
        .filter((r) => r.functionCode === 4 && r.payload.readUInt16BE(0) >= 100)
        .map((r) => r.payload.toString("hex")),
    );
    expect(wide.size).toBeGreaterThanOrEqual(3);
  });
});
