// Store throughput: readings arriving over several seconds, a poll's worth at a time with a
// turn of the event loop between (so the store's scheduled commits and its timer run as
// they do in the daemon), against raw better-sqlite3 batched inserts of the same count
// into the same schema, in the same run.

import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { storeSchema } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import { GOOD, type Reading } from "../core/reading.js";
import { Store, type TagInfo } from "../store/store.js";
import { rawInsertBench } from "./ingest.js";

export const BENCH_TAGS = 100;
/** Readings per write(): one Modbus request's worth of float32 tags. */
export const PER_POLL = 50;

export function benchTags(): TagInfo[] {
  return Array.from({ length: BENCH_TAGS }, (_, i) => ({
    name: `line.tag${i}`,
    device: "line",
    type: "float32",
  }));
}

export function benchReadings(count: number, from: number, ts: number): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    tag: `line.tag${(from + i) % BENCH_TAGS}`,
    ts,
    value: (from + i) * 0.5,
    quality: GOOD,
  }));
}

export interface StoreRate {
  /** Readings committed per second, from the first write() to the end of stop(). */
  perSecond: number;
  committed: number;
  seconds: number;
  dropped: number;
}

/** As many readings as the store takes for `seconds`, arriving through write(). */
export async function sustainedStoreRate(dir: string, seconds: number): Promise<StoreRate> {
  const store = new Store({
    path: join(dir, "store-sustained.db"),
    config: storeSchema.parse({ queueCapacity: 1_000_000 }),
    tags: benchTags(),
    clock: systemClock,
    logger: silentLogger(),
  });
  await store.start();
  store.clockSynchronized();

  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    store.write(benchReadings(PER_POLL, n, Date.now()));
    n += PER_POLL;
    await yieldToLoop(); // the poll cycle ends: scheduled commits and timers run
  }
  await store.stop(); // flushes: every reading written is committed when this returns
  const elapsed = (performance.now() - t0) / 1000;
  const h = store.health();
  const committed = h.written as number;
  return {
    perSecond: committed / elapsed,
    committed,
    seconds: elapsed,
    dropped: h.dropped as number,
  };
}

export function rawRate(dir: string, count: number): number {
  return rawInsertBench(join(dir, "store-raw.db"), count).perSecond;
}
