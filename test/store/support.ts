// Shared by the store's tests: a clock whose wall time can be stepped apart from its
// monotonic time, a logger whose lines a test can read, and a store on a temporary file.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { storeSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import { createLogger, type Logger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { Store, type TagInfo } from "../../src/store/store.js";

export class FakeClock implements Clock {
  wall = 1_700_000_000_000;
  mono = 0;
  now = () => this.wall;
  monotonic = () => this.mono;
  advance(ms: number) {
    this.wall += ms;
    this.mono += ms;
  }
}

export type LogLine = Record<string, unknown> & { msg: string; level: number };

export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger("debug", sink), lines };
}

export const good = (tag: string, ts: number, value: Reading["value"]): Reading => ({
  tag,
  ts,
  value,
  quality: GOOD,
});

export interface TestStore {
  store: Store;
  path: string;
  clock: FakeClock;
  lines: LogLine[];
  logger: Logger;
  /** The store's own connection, to make the disk "full" with max_page_count. */
  db(): Database.Database;
}

export async function testStore(
  extra: Record<string, unknown> = {},
  tags: TagInfo[] = [],
  path = join(mkdtempSync(join(tmpdir(), "pg-store-")), "t.db"),
  clock = new FakeClock(),
): Promise<TestStore> {
  const { logger, lines } = capturingLogger();
  const store = new Store({
    path,
    config: storeSchema.parse({ flushIntervalMs: 60_000, ...extra }),
    tags,
    clock,
    logger,
  });
  await store.start();
  const db = () => (store as unknown as { conn: { db: Database.Database } }).conn.db;
  return { store, path, clock, lines, logger, db };
}

/** Rows of a query on a separate read-only connection, 64-bit integers as bigint. */
export function query<T = Record<string, unknown>>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    db.defaultSafeIntegers(true);
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/**
 * Makes the store's database refuse to grow, a full disk as SQLite sees it: the page count
 * is capped and the free pages are filled, so any batch of more than a page's worth fails.
 */
export function fillUp(db: Database.Database): void {
  const pages = db.pragma("page_count", { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + 4}`);
  db.exec("CREATE TABLE IF NOT EXISTS filler (x BLOB) STRICT");
  const insert = db.prepare("INSERT INTO filler VALUES (randomblob(200))");
  try {
    for (;;) insert.run();
  } catch (err) {
    if ((err as { code?: string }).code !== "SQLITE_FULL") throw err;
  }
}

export function makeRoom(db: Database.Database): void {
  db.pragma("max_page_count = 1073741823");
  db.exec("DROP TABLE IF EXISTS filler");
}
