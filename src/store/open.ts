// Opening the buffer: a quick integrity check at start. A database that fails it, or that
// SQLite cannot open at all, is moved aside with a timestamp (with its WAL and shared-memory
// files) and a fresh one is started, with a new epoch id. The caller records the incident.

import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { StoreConfig } from "../config/schema.js";
import { migrate } from "./migrations.js";

export interface Opened {
  db: Database.Database;
  schemaFrom: number;
  schemaTo: number;
  /** Set when the previous file was corrupt: where it went and why. */
  movedAside?: { path: string; reason: string };
}

/**
 * The WAL file's size after a checkpoint. Between checkpoints it grows to SQLite's
 * auto-checkpoint (1000 pages, 4 MiB) plus the commit that crossed it.
 */
const WAL_LIMIT_BYTES = 4 * 1024 * 1024;

const CORRUPT = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB"]);

/** Why the file is corrupt, or undefined. Other failures (a read-only mount) are thrown. */
function check(path: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    const rows = db.pragma("quick_check") as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    return problems.length ? problems.slice(0, 3).join("; ") : undefined;
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    if (CORRUPT.has(code) || code.startsWith("SQLITE_CORRUPT")) return (err as Error).message;
    throw err;
  } finally {
    db?.close();
  }
}

function moveAside(path: string, stamp: number): string {
  const aside = `${path}.corrupt-${new Date(stamp).toISOString().replace(/[:.]/g, "-")}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  return aside;
}

/** `check`: run the quick integrity check first (at the first open of a process). */
export function openDatabase(
  path: string,
  config: StoreConfig,
  now: number,
  opts: { check: boolean } = { check: true },
): Opened {
  mkdirSync(dirname(path), { recursive: true });
  let movedAside: Opened["movedAside"];
  if (opts.check && existsSync(path)) {
    const reason = check(path);
    if (reason) movedAside = { path: moveAside(path, now), reason };
  }

  const db = new Database(path);
  try {
    // Migrations first: auto_vacuum must be set before anything else touches a new file.
    const { from, to } = migrate(db);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${config.synchronous.toUpperCase()}`);
    db.pragma("foreign_keys = ON");
    // After a checkpoint the WAL file is truncated back to this size, so it cannot creep up.
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    return { db, schemaFrom: from, schemaTo: to, movedAside };
  } catch (err) {
    db.close();
    throw err;
  }
}
