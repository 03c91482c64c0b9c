// The whole Modbus source over RTU (serial line, RTU transport, poller, decoder) against an
// independent peer: pymodbus 3.0 serving three units on one socat pty bus, their registers
// written by pymodbus's own BinaryPayloadBuilder in every type and order. Expected values
// are the values handed to pymodbus, never bytes from our encoder.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { systemClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading } from "../../../src/core/reading.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import { createTransport } from "../../../src/sources/modbus/source.js";
import type { ModbusTransport } from "../../../src/sources/modbus/transport.js";
import {
  socatMissing,
  startPtyPair,
  startRtuServer,
  stopAll,
  type Units,
} from "../../peers/rtu-peers.js";
import { requireOrSkip } from "../../support/data.js";
import type { Proc } from "../../support/process.js";
import { pymodbusMissing } from "../../support/pymodbus.js";
import {
  busRows,
  type Check,
  entryOf,
  expectAsWritten,
  expected,
  tagOf,
  until,
} from "./payload-rows.js";

const UNIT_IDS = [1, 2, 3];
const ready = requireOrSkip(pymodbusMissing() ?? socatMissing());

const checksOf = (unit: number): Check[] =>
  busRows(unit).map((row) => ({ tag: tagOf(row), expected: expected(row) }));

describe.runIf(ready)("Modbus source on an RTU bus of three pymodbus units", () => {
  let dir: string;
  let socat: Proc | undefined;
  let server: Proc | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plantgate-rtu-bus-"));
    socat = await startPtyPair(dir);
    const units: Units = Object.fromEntries(
      UNIT_IDS.map((unit) => [unit, busRows(unit).map(entryOf)]),
    );
    server = await startRtuServer("serial", join(dir, "b"), units);
  });

  afterAll(async () => {
    await stopAll(server, socat);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads every type and order of each unit as pymodbus wrote them", async () => {
    const connection = connectionSchema.parse({
      name: "bus",
      type: "rtu",
      path: join(dir, "a"),
      baudRate: 19200,
      timeoutMs: 1000,
      devices: UNIT_IDS.map((unit) => ({
        name: `u${unit}`,
        unitId: unit,
        groups: [{ pollIntervalMs: 200, tags: checksOf(unit).map((c) => c.tag) }],
      })),
    });
    const readings: Reading[] = [];
    const transport: ModbusTransport = createTransport(connection, { logger: silentLogger() });
    const poller = new ModbusPoller({
      connection,
      transport,
      sink: { write: (batch) => readings.push(...batch) },
      events: { event: () => {} },
      clock: systemClock,
      logger: silentLogger(),
    });

    await transport.start();
    await poller.start();
    try {
      await until("two readings of every tag of every unit", () => {
        const counts = new Map<string, number>();
        for (const r of readings) counts.set(r.tag, (counts.get(r.tag) ?? 0) + 1);
        return UNIT_IDS.every((unit) =>
          checksOf(unit).every((c) => (counts.get(`u${unit}.${c.tag.name}`) ?? 0) >= 2),
        );
      });
    } finally {
      await poller.stop();
      await transport.stop();
    }

    const latest = new Map(readings.map((r) => [r.tag, r]));
    for (const unit of UNIT_IDS) expectAsWritten(checksOf(unit), latest, `u${unit}`);
    expect(typeof latest.get("u2.uint64_DCBA")?.value).toBe("bigint");
    // One bus, no reply lost or garbled on it.
    expect(transport.health()).toMatchObject({ timeouts: 0, crcErrors: 0, garbageBytes: 0 });
    expect(poller.health()).toMatchObject({ status: "ok" });
  });
});
