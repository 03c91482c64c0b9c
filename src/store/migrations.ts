// The database schema, as an ordered list of migrations. `PRAGMA user_version` records how
// many have run; each runs in its own transaction. Append new migrations; never edit one
// that has shipped.

import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";

type Migration = (db: Database.Database) => void;

const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

      CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        device TEXT NOT NULL,
        type TEXT NOT NULL,
        unit TEXT
      ) STRICT;

      -- id is the uplink cursor: AUTOINCREMENT never reuses a key, even after deletes.
      CREATE TABLE readings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        tag_id INTEGER NOT NULL REFERENCES tags(id),
        value ANY,
        quality TEXT NOT NULL CHECK (quality IN ('good', 'bad')),
        reason TEXT,
        exception_code INTEGER
      ) STRICT;
      -- One index, on time only: readings arrive in time order, so each commit touches only
      -- the index's newest page. A per-tag index would touch a page per tag on every commit,
      -- multiplying the bytes written to an SD card.
      CREATE INDEX readings_ts ON readings(ts);

      CREATE TABLE predictions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        target TEXT NOT NULL,
        value REAL NOT NULL,
        model_version TEXT NOT NULL
      ) STRICT;
      CREATE INDEX predictions_ts ON predictions(ts);

      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT
      ) STRICT;
      CREATE INDEX events_ts ON events(ts);
    `);
    const meta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    meta.run("epoch_id", randomUUID());
    meta.run("created_ts", String(Date.now()));
  },
  (db) => {
    db.exec(`
      -- 0: taken before the wall clock was known to be synchronized (no RTC, NTP not yet).
      ALTER TABLE readings ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT 1;

      -- Each consumer (the uplink) records the last reading id it has taken. Retention keeps
      -- untaken rows until the hard size cap.
      -- The prediction band, from the model's holdout residual quantiles.
      ALTER TABLE predictions ADD COLUMN lower REAL;
      ALTER TABLE predictions ADD COLUMN upper REAL;

      CREATE TABLE consumers (
        name TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL,
        updated_ts INTEGER NOT NULL
      ) STRICT;
    `);
  },
  (db) => {
    db.exec(`
      -- Per-tag buckets of bucketMs, kept longer than raw readings. The sum, not the mean, so
      -- that merging a late reading or a chunk boundary into a bucket is plain addition.
      -- count: good numeric readings (booleans as 0/1, 64-bit integers as REAL); bad: bad
      -- readings. Strings are not aggregated. Time first in the key: retention deletes the
      -- oldest buckets and the export reads a time range.
      CREATE TABLE rollups (
        ts INTEGER NOT NULL,
        tag_id INTEGER NOT NULL REFERENCES tags(id),
        count INTEGER NOT NULL,
        bad INTEGER NOT NULL,
        sum REAL NOT NULL,
        min REAL,
        max REAL,
        PRIMARY KEY (ts, tag_id)
      ) STRICT, WITHOUT ROWID;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings a database up to SCHEMA_VERSION (or an earlier version `to`, to build an old
 * database in a test). Refuses a database written by a newer plantgate.
 */
export function migrate(
  db: Database.Database,
  to: number = SCHEMA_VERSION,
): { from: number; to: number } {
  const from = db.pragma("user_version", { simple: true }) as number;
  if (from > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${from} is newer than this plantgate supports (${SCHEMA_VERSION})`,
    );
  }

  if (from === 0) {
    // auto_vacuum only takes effect before the first table is created.
    db.pragma("auto_vacuum = INCREMENTAL");
  }

  for (let v = from; v < to; v++) {
    const step = MIGRATIONS[v] as Migration;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return { from, to: Math.max(from, to) };
}
