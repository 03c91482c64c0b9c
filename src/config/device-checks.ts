// Checks of one connection and its devices that span several fields, for check-config and
// the daemon's start: tags the poller's planning would refuse, unit ids a read never gets an
// answer from, and settings that are valid but probably not what was meant. Checks across
// connections (two on one bus) are in bus-checks.ts.

import { planReads } from "../sources/modbus/planner.js";
import type { ConnectionConfig, DeviceConfig } from "./schema.js";

/** The highest address a device on a Modbus serial line may have. */
const LAST_SERIAL_UNIT = 247;

/** Problems of connection `c` (its index in `connections`), each with its field path. */
export function connectionProblems(conn: ConnectionConfig, c: number): string[] {
  const problems: string[] = [];
  conn.devices.forEach((dev, d) => {
    const at = `connections.${c}.devices.${d}`;
    // On a serial line unit 0 is the broadcast address: every unit carries out a write
    // sent to it and none answers, so a read there can only time out.
    if (dev.unitId === 0 && conn.type !== "tcp") {
      problems.push(
        `${at}.unitId: unit 0 is the RTU broadcast address, for writes only: no unit ` +
          `answers a read sent to it; give the unit's own address (1..${LAST_SERIAL_UNIT})`,
      );
    }
    problems.push(...pipeliningProblems(conn, dev, at));
    for (const group of dev.groups) {
      // The same planning the poller does at start: a tag past the address space or
      // wider than the device's read cap is refused here, not by a restart loop later.
      try {
        planReads(group.tags, dev);
      } catch (err) {
        problems.push(`${at}: ${(err as Error).message}`);
      }
    }
  });
  return problems;
}

/** A device's maxInFlight against its connection's and its other settings. */
function pipeliningProblems(conn: ConnectionConfig, dev: DeviceConfig, at: string): string[] {
  if (dev.maxInFlight === 1) return [];
  const n = dev.maxInFlight;
  if (conn.type !== "tcp") {
    // RTU frames carry no transaction id: a reply is known only by coming next.
    return [`${at}.maxInFlight: ${n}, but an RTU line carries one request at a time; give 1`];
  }
  const problems: string[] = [];
  if (conn.maxInFlight !== undefined && n > conn.maxInFlight) {
    problems.push(
      `${at}.maxInFlight: ${n} exceeds its connection's maxInFlight ${conn.maxInFlight}: ` +
        "raise the connection's, or lower the device's",
    );
  }
  if (dev.requestDelayMs > 0) {
    problems.push(
      `${at}.maxInFlight: ${n} with requestDelayMs ${dev.requestDelayMs}: a pause between ` +
        "requests means one at a time; give maxInFlight 1 or requestDelayMs 0",
    );
  }
  return problems;
}

/** Settings of connection `c` that are valid but probably not what was meant. */
export function connectionWarnings(conn: ConnectionConfig, c: number): string[] {
  const warnings: string[] = [];
  const devicesInFlight = conn.devices.reduce((n, dev) => n + dev.maxInFlight, 0);
  const own = conn.type === "tcp" ? conn.maxInFlight : undefined;
  if (own !== undefined && own > devicesInFlight) {
    // Before pipelining was per device, the connection's setting alone asked for it.
    warnings.push(
      `connections.${c}.maxInFlight: ${own}, but its devices never have more ` +
        `than ${devicesInFlight} requests in flight together: to pipeline a device's ` +
        "requests, give the device a maxInFlight",
    );
  }
  conn.devices.forEach((dev, d) => {
    const at = `connections.${c}.devices.${d}`;
    const unit = unitIdWarning(conn, dev, at);
    if (unit !== undefined) warnings.push(unit);
    const timeout = dev.timeoutMs ?? conn.timeoutMs;
    for (const group of dev.groups) {
      if (timeout < group.pollIntervalMs) continue;
      // A unit that stops answering holds the shared queue for a whole timeout: with the
      // timeout at or above the poll interval, its neighbours' polls overrun.
      warnings.push(
        `${at}: timeout ${timeout} ms is not below group ` +
          `"${group.name}"'s poll interval ${group.pollIntervalMs} ms: a dead unit on ` +
          `this connection would delay the others' polls by more than one interval`,
      );
    }
  });
  return warnings;
}

/** A unit id a device may have but few answer to, on this kind of connection. */
function unitIdWarning(conn: ConnectionConfig, dev: DeviceConfig, at: string): string | undefined {
  // The Modbus TCP implementation guide accepts unit 0 for addressing a TCP device
  // directly, but a TCP-to-RTU gateway broadcasts it on its serial line. (On a serial line
  // unit 0 is refused: see connectionProblems.)
  if (dev.unitId === 0) {
    return (
      `${at}.unitId: unit 0 reaches a Modbus TCP device directly, but a gateway to a ` +
      `serial line broadcasts it and no reply comes; behind a gateway give the unit's ` +
      `own address, for a TCP device 255 or 1 is the usual choice`
    );
  }
  // Modbus over serial line v1.02, 2.2: addresses 248..255 are reserved.
  if (conn.type !== "tcp" && dev.unitId > LAST_SERIAL_UNIT) {
    return (
      `${at}.unitId: unit ${dev.unitId} is reserved on a Modbus serial line (device ` +
      `addresses are 1..${LAST_SERIAL_UNIT}); few devices answer it`
    );
  }
  return undefined;
}
