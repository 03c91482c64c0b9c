// SD-card wear: the bytes written per reading under each `synchronous` setting, at a stated
// tag rate, over half an hour of simulated time (so SQLite's checkpoints are in it).
//
// Two counts from /proc/self/io. `wchar`: the bytes SQLite hands the OS in write calls (WAL
// frames appended, pages checkpointed into the file) — what the settings cost before the
// kernel's page cache. `write_bytes`: the bytes this process caused to go to storage. The
// kernel counts a page when it becomes dirty, so a page rewritten before writeback counts
// once; a short burst would therefore understate `off` and `normal`, whose pages wait in
// the cache. The run emulates the kernel's writeback instead: a sync of the file system
// every 30 s of simulated time (vm.dirty_expire_centisecs, 3000 by default), so a page
// rewritten every commit counts once per 30 s, as on a gateway. `full` syncs every commit.

import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { storeSchema } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import { Store } from "../store/store.js";
import { BENCH_TAGS, benchReadings, benchTags } from "./store.js";
import { printMarkdownTable } from "./table.js";

/** The stated tag rate: 100 tags polled once a second. */
const WEAR_TAGS_PER_SECOND = BENCH_TAGS;
const SIMULATED_SECONDS = 1800;
const WRITEBACK_EVERY_S = 30;

export type Synchronous = "off" | "normal" | "full";

export interface WearFigures {
  synchronous: Synchronous;
  commitEverySeconds: number;
  /** Bytes per reading handed to the OS in write calls (wchar). */
  handedToOs: number;
  /** Bytes per reading that reached storage, writeback emulated (write_bytes). */
  toStorage: number;
  /** Bytes per reading the database file holds at the end: the payload. */
  inFile: number;
}

function io(): { wchar: number; writeBytes: number } {
  try {
    const text = readFileSync("/proc/self/io", "utf8");
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
    return { wchar: field("wchar"), writeBytes: field("write_bytes") };
  } catch {
    return { wchar: 0, writeBytes: 0 };
  }
}

async function measureWear(
  dir: string,
  synchronous: Synchronous,
  commitEverySeconds: number,
): Promise<WearFigures> {
  const path = join(dir, `wear-${synchronous}-${commitEverySeconds}.db`);
  const store = new Store({
    path,
    config: storeSchema.parse({ synchronous, flushIntervalMs: 3_600_000, batchSize: 100_000 }),
    tags: benchTags(),
    clock: systemClock,
    logger: silentLogger(),
  });
  await store.start();
  store.clockSynchronized();

  const before = io();
  const t0 = Date.now();
  for (let s = 1; s <= SIMULATED_SECONDS; s++) {
    const done = (s - 1) * WEAR_TAGS_PER_SECOND;
    store.write(benchReadings(WEAR_TAGS_PER_SECOND, done, t0 + s * 1000));
    if (s % commitEverySeconds === 0) store.flush(); // the flush timer, simulated
    if (s % WRITEBACK_EVERY_S === 0) spawnSync("sync", ["-f", dir]); // the kernel's writeback
  }
  const after = io();
  const readings = SIMULATED_SECONDS * WEAR_TAGS_PER_SECOND;
  await store.stop();
  return {
    synchronous,
    commitEverySeconds,
    handedToOs: (after.wchar - before.wchar) / readings,
    toStorage: (after.writeBytes - before.writeBytes) / readings,
    inFile: statSync(path).size / readings,
  };
}

export async function measureAllWear(dir: string): Promise<WearFigures[]> {
  const out: WearFigures[] = [];
  for (const synchronous of ["off", "normal", "full"] as const) {
    out.push(await measureWear(dir, synchronous, 1));
  }
  out.push(await measureWear(dir, "normal", 10)); // flushIntervalMs 10 s: ten times fewer commits
  return out;
}

const perDay = (bytesPerReading: number) =>
  `${((bytesPerReading * WEAR_TAGS_PER_SECOND * 86_400) / 1e9).toFixed(2)} GB`;

export function printWear(wear: WearFigures[]): void {
  console.log(
    `\nSD-card wear at ${WEAR_TAGS_PER_SECOND} tags/s, ${SIMULATED_SECONDS / 60} min simulated, ` +
      `writeback emulated every ${WRITEBACK_EVERY_S} s:`,
  );
  printMarkdownTable(
    [
      "synchronous",
      "commit every",
      "to OS B/reading",
      "to storage B/reading",
      "storage/day",
      "file B/reading",
    ],
    wear.map((w) => [
      w.synchronous,
      `${w.commitEverySeconds} s`,
      w.handedToOs.toFixed(0),
      w.toStorage.toFixed(0),
      perDay(w.toStorage),
      w.inFile.toFixed(0),
    ]),
  );
  console.log(
    "to OS: bytes SQLite passed to write calls (WAL frames, checkpointed pages; wchar). " +
      "to storage: bytes the kernel sent to the device for them (write_bytes), with a sync " +
      `every ${WRITEBACK_EVERY_S} s standing in for dirty-page expiry. file: the rows' size.`,
  );
  if (wear.every((w) => w.toStorage === 0)) {
    console.log("(this file system does not report written bytes: set BENCH_DIR to a disk)");
  }
}
