// One connection polled against a real peer, for the tests against pymodbus over TCP and
// RTU: the real transport and poller on the system clock, every reading and event kept,
// both stopped once the test has seen what it waits for.

import type { ConnectionConfig } from "../../../src/config/schema.js";
import { systemClock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading } from "../../../src/core/reading.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import type { ModbusTransport } from "../../../src/sources/modbus/transport.js";
import { until } from "./payload-rows.js";

export interface PollerRun {
  readings: Reading[];
  events: GatewayEvent[];
  poller: ModbusPoller;
}

/** How many readings of each tag came in. */
export function readingCounts(readings: readonly Reading[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of readings) counts.set(r.tag, (counts.get(r.tag) ?? 0) + 1);
  return counts;
}

/**
 * Starts `transport` and a poller of `connection` on it, waits until `done` holds (given
 * the readings per tag so far), then stops both, even when the wait fails.
 */
export async function pollUntil(
  connection: ConnectionConfig,
  transport: ModbusTransport,
  what: string,
  done: (counts: Map<string, number>, run: PollerRun) => boolean,
): Promise<PollerRun> {
  const readings: Reading[] = [];
  const events: GatewayEvent[] = [];
  const poller = new ModbusPoller({
    connection,
    transport,
    sink: { write: (batch) => readings.push(...batch) },
    events: { event: (e) => events.push(e) },
    clock: systemClock,
    logger: silentLogger(),
  });
  const run = { readings, events, poller };

  await transport.start();
  await poller.start();
  try {
    await until(what, () => done(readingCounts(readings), run));
  } finally {
    await poller.stop();
    await transport.stop();
  }
  return run;
}
