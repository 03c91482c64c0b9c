// The whole Modbus source over RTU (serial line, RTU transport, poller, decoder) against an
// independent peer: pymodbus 3.0 serving three units on one socat pty bus, their registers
// written by pymodbus's own BinaryPayloadBuilder in every type and order. Expected values
// are the values handed to pymodbus, never bytes from our encoder.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { silentLogger } from "../../../src/core/logger.js";
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
import { busRows, type Check, entryOf, expectAsWritten, expected, tagOf } from "./payload-rows.js";
import { pollUntil } from "./poller-rig.js";

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
    const transport: ModbusTransport = createTransport(connection, { logger: silentLogger() });
    const { readings, poller } = await pollUntil(
      connection,
      transport,
      "two readings of every tag of every unit",
      (counts) =>
        UNIT_IDS.every((unit) =>
          checksOf(unit).every((c) => (counts.get(`u${unit}.${c.tag.name}`) ?? 0) >= 2),
        ),
    );

    const latest = new Map(readings.map((r) => [r.tag, r]));
    for (const unit of UNIT_IDS) expectAsWritten(checksOf(unit), latest, `u${unit}`);
    expect(typeof latest.get("u2.uint64_DCBA")?.value).toBe("bigint");
    // One bus, no reply lost or garbled on it.
    expect(transport.health()).toMatchObject({ timeouts: 0, crcErrors: 0, garbageBytes: 0 });
    expect(poller.health()).toMatchObject({ status: "ok" });
  });
});
