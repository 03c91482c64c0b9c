// Export of buffered readings, or of their rollup buckets, for a tag set and time range,
// streamed: rows are read with an iterator and written with backpressure, so the table never
// sits in memory whole. 64-bit integers are written exactly, uint64 past 2^63 too.

import { once } from "node:events";
import type { Writable } from "node:stream";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "./migrations.js";

export interface ExportQuery {
  tags?: string[];
  fromTs?: number;
  toTs?: number;
  includeBad: boolean;
  /** The rollup buckets that start in the range instead of the raw readings. */
  rollup?: boolean;
}

export type ExportFormat = "csv" | "jsonl";

interface Row {
  id: bigint;
  ts: bigint;
  tag: string;
  type: string;
  value: number | bigint | string | Buffer | null;
  quality: string;
  reason: string | null;
  exception_code: bigint | null;
  clock_synced: bigint;
}

interface BucketRow {
  ts: bigint;
  tag: string;
  count: bigint;
  bad: bigint;
  sum: number;
  min: number | null;
  max: number | null;
}

const COLUMNS = [
  "id",
  "time",
  "ts",
  "tag",
  "value",
  "quality",
  "reason",
  "exceptionCode",
  "clockSynced",
];

const BUCKET_COLUMNS = ["time", "ts", "tag", "count", "bad", "min", "mean", "max"];

function where(q: ExportQuery): { sql: string; args: Array<string | number> } {
  const parts: string[] = [];
  const args: Array<string | number> = [];
  if (q.tags?.length) {
    parts.push(`t.name IN (${q.tags.map(() => "?").join(", ")})`);
    args.push(...q.tags);
  }
  if (q.fromTs !== undefined) {
    parts.push("r.ts >= ?");
    args.push(q.fromTs);
  }
  if (q.toTs !== undefined) {
    parts.push("r.ts < ?");
    args.push(q.toTs);
  }
  if (!q.includeBad && !q.rollup) parts.push("r.quality = 'good'");
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", args };
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** JSON for a value, with bigints written as exact number literals. */
function jsonValue(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return "null";
  return JSON.stringify(v ?? null);
}

/** The stored value as the tag gave it: a uint64 past 2^63 is stored as decimal text. */
function readingValue(row: Row): unknown {
  if (Buffer.isBuffer(row.value)) return row.value.toString("hex");
  const digits = typeof row.value === "string" && /^\d+$/.test(row.value);
  return row.type === "uint64" && digits ? BigInt(row.value as string) : row.value;
}

function readingFields(row: Row): unknown[] {
  const time = new Date(Number(row.ts)).toISOString();
  const value = readingValue(row);
  return [
    row.id,
    time,
    row.ts,
    row.tag,
    value,
    row.quality,
    row.reason,
    row.exception_code,
    row.clock_synced,
  ];
}

function bucketFields(row: BucketRow): unknown[] {
  const time = new Date(Number(row.ts)).toISOString();
  const mean = row.count > 0n ? row.sum / Number(row.count) : null;
  return [time, row.ts, row.tag, row.count, row.bad, row.min, mean, row.max];
}

function format(columns: string[], fields: unknown[], fmt: ExportFormat): string {
  if (fmt === "csv") return `${fields.map(csvField).join(",")}\n`;
  const pairs = columns.map((c, i) => `${JSON.stringify(c)}:${jsonValue(fields[i])}`);
  return `{${pairs.join(",")}}\n`;
}

function* fieldsOf<T>(rows: Iterable<T>, fields: (row: T) => unknown[]): Iterable<unknown[]> {
  for (const row of rows) yield fields(row);
}

/** The rows of a query as fields, oldest first, and their column names. */
function select(db: Database.Database, q: ExportQuery) {
  const w = where(q);
  if (q.rollup) {
    const rows = db
      .prepare(
        `SELECT r.ts, t.name AS tag, r.count, r.bad, r.sum, r.min, r.max
         FROM rollups r JOIN tags t ON t.id = r.tag_id ${w.sql} ORDER BY r.ts, r.tag_id`,
      )
      .iterate(...w.args) as IterableIterator<BucketRow>;
    return { columns: BUCKET_COLUMNS, rows: fieldsOf(rows, bucketFields) };
  }
  const rows = db
    .prepare(
      `SELECT r.id, r.ts, t.name AS tag, t.type, r.value, r.quality, r.reason,
              r.exception_code, r.clock_synced
       FROM readings r JOIN tags t ON t.id = r.tag_id ${w.sql} ORDER BY r.ts, r.id`,
    )
    .iterate(...w.args) as IterableIterator<Row>;
  return { columns: COLUMNS, rows: fieldsOf(rows, readingFields) };
}

export class ReadingExport {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(
        `database schema is version ${version}, this plantgate reads ${SCHEMA_VERSION}: ` +
          "start the daemon once to migrate it",
      );
    }
    this.db.defaultSafeIntegers(true);
  }

  /** Asked-for tags the buffer has never seen: most likely a typo. */
  unknownTags(tags: readonly string[] = []): string[] {
    const known = this.db.prepare("SELECT 1 FROM tags WHERE name = ?").pluck();
    return tags.filter((t) => known.get(t) === undefined);
  }

  count(q: ExportQuery): number {
    const w = where(q);
    const table = q.rollup ? "rollups" : "readings";
    const row = this.db
      .prepare(`SELECT count(*) AS n FROM ${table} r JOIN tags t ON t.id = r.tag_id ${w.sql}`)
      .get(...w.args) as { n: bigint };
    return Number(row.n);
  }

  /** Writes every matching row, oldest first; `progress` is called with rows written so far. */
  async write(q: ExportQuery, fmt: ExportFormat, out: Writable, progress?: (n: number) => void) {
    const { columns, rows } = select(this.db, q);
    if (fmt === "csv") out.write(`${columns.join(",")}\n`);
    let n = 0;
    for (const row of rows) {
      if (!out.write(format(columns, row, fmt))) await once(out, "drain");
      if (++n % 1000 === 0) progress?.(n);
    }
    progress?.(n);
    return n;
  }

  close(): void {
    this.db.close();
  }
}
