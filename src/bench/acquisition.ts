// The acquisition figure: tags per second decoded and committed to SQLite through the real
// poller, transport and store, polling the 1,000-tag map from a fast server in another
// process, so that `process.cpuUsage()` counts the gateway's work alone (SQLite included).

import Database from "better-sqlite3";
import { storeSchema } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import type { Reading } from "../core/reading.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { Store } from "../store/store.js";
import { groupOf, planByGroup, type TagMapOptions, tagMapConnection } from "./tag-map.js";

export interface AcquisitionResult {
  /** Good readings in the database once the store has stopped. */
  committed: number;
  bad: number;
  seconds: number;
  /** CPU seconds (user + system) the process used over the run. */
  cpuSeconds: number;
  /** Requests per 1,000 tags read: per poll cycle of the whole map. */
  requestsPerCycle: number;
  /** The same with `planReads`'s requests, for the cycles each group actually ran. */
  plannedPerCycle: number;
  /** `planReads`'s requests for one cycle of every group. */
  plannedPerMapCycle: number;
  tagsPerSecond: number;
  /** Tags per CPU second: what one core fully busy would commit. */
  tagsPerCore: number;
  /** CPU used over wall time; 1 is one core fully busy. */
  cpuShare: number;
}

export async function acquisitionBench(
  path: string,
  seconds: number,
  options: TagMapOptions,
): Promise<AcquisitionResult> {
  const logger = silentLogger();
  const connection = tagMapConnection(options);
  const store = new Store({
    path,
    config: storeSchema.parse({ queueCapacity: 10_000_000 }),
    tags: [],
    clock: systemClock,
    logger,
  });
  await store.start();
  // Under saturation groups are not polled equally often, so cycles are counted per group.
  const perGroup = new Map<string, number>();
  const sink = {
    write(batch: readonly Reading[]) {
      const key = groupOf(batch[0]?.tag ?? "");
      perGroup.set(key, (perGroup.get(key) ?? 0) + batch.length);
      store.write(batch);
    },
  };
  const deps = { sink, events: store, clock: systemClock, logger };
  const { transport, poller } = createModbusSource(connection, deps);

  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  await transport.start();
  await poller.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await poller.stop();
  const requests = Number(transport.health().requests);
  await transport.stop();
  await store.stop(); // flushes: every reading taken is committed when this returns
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const run = { requests, elapsed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  return summarize(path, run, plannedFor(connection, perGroup));
}

function summarize(
  path: string,
  run: { requests: number; elapsed: number; cpuSeconds: number },
  planned: { requests: number; tags: number; perMapCycle: number },
): AcquisitionResult {
  const { good, bad } = countReadings(path);
  const mapCycles = (good + bad) / planned.tags;
  return {
    committed: good,
    bad,
    seconds: run.elapsed,
    cpuSeconds: run.cpuSeconds,
    requestsPerCycle: run.requests / mapCycles,
    plannedPerCycle: planned.requests / mapCycles,
    plannedPerMapCycle: planned.perMapCycle,
    tagsPerSecond: good / run.elapsed,
    tagsPerCore: good / run.cpuSeconds,
    cpuShare: run.cpuSeconds / run.elapsed,
  };
}

/** Planned requests for the readings each group produced; tags of the whole map. */
function plannedFor(
  connection: ReturnType<typeof tagMapConnection>,
  readingsPerGroup: Map<string, number>,
): { requests: number; tags: number; perMapCycle: number } {
  let requests = 0;
  let tags = 0;
  let perMapCycle = 0;
  for (const [key, plan] of planByGroup(connection)) {
    requests += ((readingsPerGroup.get(key) ?? 0) / plan.tags) * plan.requests;
    tags += plan.tags;
    perMapCycle += plan.requests;
  }
  return { requests, tags, perMapCycle };
}

function countReadings(path: string): { good: number; bad: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare("SELECT quality, count(*) AS n FROM readings GROUP BY quality")
      .all() as { quality: string; n: number }[];
    const of = (q: string) => rows.find((r) => r.quality === q)?.n ?? 0;
    return { good: of("good"), bad: of("bad") };
  } finally {
    db.close();
  }
}
