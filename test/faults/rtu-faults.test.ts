// Acquisition faults on a Modbus RTU bus: a socat pty pair stands in for the cable, the
// peer of fault-rtu-peer.ts answers units 1 and 2 on one end, the real `plantgate run` polls
// the other. Where the fault takes the whole bus away, the healthy unit is read over TCP
// on a connection of its own.

import { afterEach, describe, expect, it } from "vitest";
import { type Fault, HEALTHY, PeerUnits } from "../peers/fault-units.js";
import { socatMissing } from "../peers/pty-pair.js";
import { requireOrSkip } from "../support/data.js";
import { CONNECTION_LOST, expectFaultCase, TIMING_OUT } from "./support/checks.js";
import {
  device,
  holdFault,
  RECONNECT_RECOVERY_MS,
  rtuConnection,
  SILENT_RECOVERY_MS,
  TIMEOUT_MS,
} from "./support/harness.js";
import { FaultRig, TAGS } from "./support/rig.js";

const HOLD_MS = 3000;
const ready = requireOrSkip(socatMissing());

describe.runIf(ready)("acquisition faults on a Modbus RTU bus", () => {
  const rig = new FaultRig();
  afterEach(() => rig.cleanup());

  // Late replies come 60 ms after the timeout, well past the silent interval but within the
  // timeout for which unit 2's next request is held (rtu-transport.ts): none is taken for an
  // answer, so each fault is one outage.
  const lineFaults: Array<[string, Fault, boolean]> = [
    ["does not answer at all", { kind: "silent" }, false],
    ["replies with a corrupted CRC", { kind: "badCrc" }, false],
    ["answers with random garbage while noise precedes every reply", { kind: "garbage" }, true],
    ["replies after the timeout", { kind: "late", delayMs: TIMEOUT_MS + 60 }, false],
  ];

  it.each(lineFaults)("keeps reading unit 1 while unit 2 %s", async (what, fault, noise) => {
    const { units, bus } = await rig.rtuPair();
    const episode = await holdFault(
      () => {
        units.setFault(2, fault);
        bus.noise = noise;
      },
      () => {
        units.setFault(2, HEALTHY);
        bus.noise = false;
      },
      HOLD_MS,
    );
    const run = await rig.stopCleanlyAfter(SILENT_RECOVERY_MS + 500);

    // One outage each (the default maxDowns): a late reply taken for an answer would make
    // unit 2 flap.
    const measured = expectFaultCase(run, { episode, ...TIMING_OUT });
    // No late reply became a value: not unit 1's (the unit id tells them apart), nor unit
    // 2's own (its next request waited out the reply).
    if (fault.kind === "late") expect(units.lateValues.size).toBeGreaterThan(0);
    for (const tag of ["healthy.count", "faulty.count"]) {
      const values = run.readings(tag).map((r) => r.value as number);
      expect(values.filter((v) => units.lateValues.has(v))).toEqual([]);
    }
    // Noise before the healthy unit's replies cost it nothing: every reading good. (Before
    // the fault, the very first poll after the pty opened has been seen to time out.)
    const sinceFault = run.readings("healthy.count").filter((r) => r.ts >= episode.on);
    expect(sinceFault.filter((r) => r.quality !== "good")).toEqual([]);
    const early = run.readings("healthy.count").filter((r) => r.quality !== "good");
    if (early.length > 0) console.info("bad before the fault", early);
    console.info(`rtu ${what}`, measured, bus.stats);
  });

  it("reopens the serial path after it vanishes and returns", async () => {
    const units = new PeerUnits([2]);
    await rig.rtuBus(units);
    const bus = rtuConnection("bus", rig.busPath, [device("faulty", 2, TAGS)]);
    await rig.startWithHealthyLine(bus, units);
    const episode = await holdFault(
      () => rig.unplugBus(),
      () => rig.replugBus(),
      HOLD_MS,
    );
    const run = await rig.stopCleanlyAfter(RECONNECT_RECOVERY_MS + 500);

    const measured = expectFaultCase(run, { episode, ...CONNECTION_LOST });
    const lineLogs = run.gate!.lines.filter((l) => /^modbus line (lost|cannot)/.test(`${l.msg}`));
    expect(lineLogs.length).toBeLessThanOrEqual(2);
    expect(run.gate!.find("modbus line back")).toHaveLength(1);
    console.info("rtu path vanished", measured);
  });
});
