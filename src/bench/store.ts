// Buffer figures: sustained readings/s through the store (queue, batched transactions, WAL)
// against raw better-sqlite3 batched inserts into the same schema, and bytes written to disk
// per reading under each `synchronous` setting, from /proc/self/io.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { storeSchema } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import { GOOD, type Reading } from "../core/reading.js";
import { Store } from "../store/store.js";
import { rawInsertBench } from "./ingest.js";

const TAGS = 100;

function readings(count: number, from: number): Reading[] {
  return Array.from({ length: count }, (_, i) => ({
    tag: `line.tag${(from + i) % TAGS}`,
    ts: 1_700_000_000_000 + from + i,
    value: (from + i) * 0.5,
    quality: GOOD,
  }));
}

/** Bytes this process caused to be written to storage so far (0 where the kernel hides it). */
function writtenBytes(): number {
  try {
    const io = readFileSync("/proc/self/io", "utf8");
    return Number(/write_bytes:\s+(\d+)/.exec(io)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface StoreFigures {
  perSecond: number;
  /** Bytes the process wrote to storage per reading (WAL, checkpoints, everything). */
  bytesPerReading: number;
  /** Bytes per reading the database file holds at the end: the payload. */
  fileBytesPerReading: number;
}

/** `perCommit` readings per transaction: a poll cycle's worth, as the flush timer sees it. */
export async function storeRate(
  dir: string,
  count: number,
  synchronous: "off" | "normal" | "full",
  perCommit: number,
): Promise<StoreFigures> {
  const path = join(dir, `store-${synchronous}-${perCommit}.db`);
  const store = new Store({
    path,
    config: storeSchema.parse({ synchronous, queueCapacity: count + 1, batchSize: 1000 }),
    tags: Array.from({ length: TAGS }, (_, i) => ({
      name: `line.tag${i}`,
      device: "line",
      type: "float32",
    })),
    clock: systemClock,
    logger: silentLogger(),
  });
  await store.start();
  store.clockSynchronized();

  // Readings arrive as pollers deliver them: a request's worth at a time. They are made
  // before the clock starts, so that only the store's work is timed.
  const batches: Reading[][] = [];
  for (let done = 0; done < count; done += 50)
    batches.push(readings(Math.min(50, count - done), done));

  const before = writtenBytes();
  const t0 = performance.now();
  const every = Math.max(1, Math.round(perCommit / 50));
  batches.forEach((batch, i) => {
    store.write(batch);
    if (i % every === every - 1) store.flush();
  });
  await store.stop();
  const seconds = (performance.now() - t0) / 1000;
  return {
    perSecond: count / seconds,
    bytesPerReading: (writtenBytes() - before) / count,
    fileBytesPerReading: statSync(path).size / count,
  };
}

export function rawRate(dir: string, count: number): number {
  return rawInsertBench(join(dir, "store-raw.db"), count).perSecond;
}
