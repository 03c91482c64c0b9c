// Export of buffered readings for a tag set and time range, streamed: rows are read with an
// iterator and written with backpressure, so the table never sits in memory whole. 64-bit
// integers are written exactly.

import { once } from "node:events";
import type { Writable } from "node:stream";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "./migrations.js";

export interface ExportQuery {
  tags?: string[];
  fromTs?: number;
  toTs?: number;
  includeBad: boolean;
}

export type ExportFormat = "csv" | "jsonl";

interface Row {
  id: bigint;
  ts: bigint;
  tag: string;
  value: number | bigint | string | Buffer | null;
  quality: string;
  reason: string | null;
  exception_code: bigint | null;
  clock_synced: bigint;
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
  if (!q.includeBad) parts.push("r.quality = 'good'");
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

function format(row: Row, fmt: ExportFormat): string {
  const time = new Date(Number(row.ts)).toISOString();
  const value = Buffer.isBuffer(row.value) ? row.value.toString("hex") : row.value;
  const fields = [
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
  if (fmt === "csv") return `${fields.map(csvField).join(",")}\n`;
  const pairs = COLUMNS.map((c, i) => `${JSON.stringify(c)}:${jsonValue(fields[i])}`);
  return `{${pairs.join(",")}}\n`;
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
    const row = this.db
      .prepare(`SELECT count(*) AS n FROM readings r JOIN tags t ON t.id = r.tag_id ${w.sql}`)
      .get(...w.args) as { n: bigint };
    return Number(row.n);
  }

  /** Writes every matching row, oldest first; `progress` is called with rows written so far. */
  async write(q: ExportQuery, fmt: ExportFormat, out: Writable, progress?: (n: number) => void) {
    const w = where(q);
    const rows = this.db
      .prepare(
        `SELECT r.id, r.ts, t.name AS tag, r.value, r.quality, r.reason, r.exception_code,
                r.clock_synced
         FROM readings r JOIN tags t ON t.id = r.tag_id ${w.sql} ORDER BY r.ts, r.id`,
      )
      .iterate(...w.args) as IterableIterator<Row>;

    if (fmt === "csv") out.write(`${COLUMNS.join(",")}\n`);
    let n = 0;
    for (const row of rows) {
      if (!out.write(format(row, fmt))) await once(out, "drain");
      if (++n % 1000 === 0) progress?.(n);
    }
    progress?.(n);
    return n;
  }

  close(): void {
    this.db.close();
  }
}
