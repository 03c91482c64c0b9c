// The whole Modbus source (TCP transport + poller) against an independent peer: a pymodbus
// 3.0 server whose registers were written by pymodbus's own BinaryPayloadBuilder.

import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { systemClock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading } from "../../../src/core/reading.js";
import { createModbusSource } from "../../../src/sources/modbus/source.js";
import { repoRoot, requireOrSkip } from "../../support/data.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../../support/pymodbus.js";

interface Entry {
  name: string;
  table: "holdingRegister" | "inputRegister" | "coil" | "discreteInput";
  address: number;
  type: "bool" | "int16" | "uint16" | "int32" | "uint32" | "float32";
  order: "ABCD" | "CDAB" | "BADC" | "DCBA";
  value: number | boolean;
}

type Row = [string, Entry["table"], number, Entry["type"], Entry["order"], Entry["value"]];

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
  ["i32_abcd", "inputRegister", 0, "int32", "ABCD", -123456789],
  ["i32_cdab", "inputRegister", 2, "int32", "CDAB", 987654321],
  ["i32_badc", "inputRegister", 4, "int32", "BADC", -70000],
  ["i32_dcba", "inputRegister", 6, "int32", "DCBA", 16909060],
  ["u32_cdab", "inputRegister", 8, "uint32", "CDAB", 3000000000],
  ["run", "coil", 5, "bool", "ABCD", true],
  ["stopped", "coil", 6, "bool", "ABCD", false],
  ["door", "discreteInput", 9, "bool", "ABCD", true],
];

const ENTRIES: Entry[] = ROWS.map(([name, table, address, type, order, value]) => ({
  name,
  table,
  address,
  type,
  order,
  value,
}));

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function untilAccepting(port: number, peer: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (peer.exitCode !== null) throw new Error(`pymodbus server exited (${peer.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net
        .connect(port, "127.0.0.1", () => resolve(true))
        .on("error", () => resolve(false));
      s.once("connect", () => s.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("pymodbus server did not accept connections within 15 s");
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.runIf(requireOrSkip(pymodbusMissing()))("Modbus source against pymodbus 3.0", () => {
  let peer: ChildProcess | undefined;
  let port = 0;
  let stderr = "";

  beforeAll(async () => {
    port = await freePort();
    const script = join(repoRoot, "test/peers/pymodbus-server.py");
    peer = spawn(SYSTEM_PYTHON, [script, String(port), JSON.stringify(ENTRIES)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
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

  it("reads every type and order as pymodbus wrote them", async () => {
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
            {
              pollIntervalMs: 200,
              tags: ENTRIES.map(({ value: _value, ...tag }) => tag),
            },
            // Beyond the server's 200 registers: exception 2 from a device that is up.
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
    const { transport, poller } = createModbusSource(connection, {
      sink: { write: (batch) => readings.push(...batch) },
      events: { event: (e) => events.push(e) },
      clock: systemClock,
      logger: silentLogger(),
    });

    await transport.start();
    await poller.start();
    try {
      const tags = new Set<string>();
      const wanted = [...ENTRIES.map((e) => `plc.${e.name}`), "plc.far", "ghost.x"];
      await until("a reading of every tag and the ghost down", () => {
        for (const r of readings) tags.add(r.tag);
        return events.length > 0 && wanted.every((t) => tags.has(t));
      });
    } finally {
      await poller.stop();
      await transport.stop();
    }

    const latest = new Map(readings.map((r) => [r.tag, r]));
    for (const entry of ENTRIES) {
      const reading = latest.get(`plc.${entry.name}`);
      const expected = entry.type === "float32" ? Math.fround(entry.value as number) : entry.value;
      expect(reading, entry.name).toMatchObject({ value: expected, quality: { status: "good" } });
    }
    expect(latest.get("plc.far")).toMatchObject({
      value: null,
      quality: { status: "bad", reason: "exception", exceptionCode: 2 },
    });
    expect(latest.get("ghost.x")?.quality).toMatchObject({ status: "bad", reason: "timeout" });
    expect(events.map((e) => [e.kind, e.source])).toEqual([["device.down", "ghost"]]);
    expect(poller.health()).toMatchObject({
      status: "degraded",
      devices: { plc: { up: true }, ghost: { up: false } },
    });
  });
});
