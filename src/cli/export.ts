// `plantgate export`: buffered readings, or their rollup buckets, for a tag set and time
// range, as CSV or JSON Lines, to a file or stdout, with a progress bar when stderr is a
// terminal.

import { createWriteStream } from "node:fs";
import { isAbsolute, join } from "node:path";
import { finished } from "node:stream/promises";
import cliProgress from "cli-progress";
import { loadConfig } from "../config/load.js";
import { type ExportFormat, ReadingExport } from "../store/export.js";
import { reportConfigError } from "./errors.js";

export interface ExportOptions {
  config: string;
  tags?: string;
  from?: string;
  to?: string;
  format: string;
  output?: string;
  includeBad?: boolean;
  rollup?: boolean;
}

/** A date, optionally a time (after `T` or a space), optionally `Z` or an offset. */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Epoch ms, or an ISO 8601 date and time. Without an offset a time is UTC, as stored and
 * exported: JavaScript's own parser would read a date alone as UTC but a date with a time
 * as local, so 2026-12-04 and 2026-12-04T00:00 would name different instants on a gateway
 * set to local time. A date that does not exist (2026-02-30) is refused, not rolled over.
 */
export function parseTime(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : isoMs(text);
  if (ms === undefined) {
    fail(`--${flag} "${text}" is not a time (ISO 8601, like 2026-12-04T06:00Z, or epoch ms)`);
  }
  return ms;
}

/** Epoch ms of an ISO 8601 time, UTC unless it names an offset; undefined if none. */
function isoMs(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((v) => Number(v ?? 0));
  const utc = Date.UTC(y, mo - 1, d, h, mi, sec);
  const back = new Date(utc);
  const exists =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi;
  if (!exists) return undefined;
  const frac = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  return utc + frac - offsetMs(m[8] ?? "Z");
}

function offsetMs(zone: string): number {
  if (zone === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const [h, m] = zone.slice(1).split(":").map(Number) as [number, number];
  return sign * (h * 60 + m) * 60_000;
}

function fail(message: string): never {
  process.stderr.write(`plantgate: ${message}\n`);
  process.exit(2);
}

export async function exportCommand(opts: ExportOptions): Promise<void> {
  let dbPath: string;
  try {
    const config = loadConfig(opts.config);
    const p = config.store.path;
    dbPath = isAbsolute(p) ? p : join(config.gateway.stateDir, p);
  } catch (err) {
    reportConfigError(err);
  }
  if (opts.format !== "csv" && opts.format !== "jsonl") fail("--format must be csv or jsonl");
  if (opts.rollup && opts.includeBad) {
    fail("--include-bad does not apply to --rollup: each bucket counts its bad readings");
  }

  const query = {
    tags: opts.tags
      ?.split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    fromTs: parseTime("from", opts.from),
    toTs: parseTime("to", opts.to),
    includeBad: Boolean(opts.includeBad),
    rollup: Boolean(opts.rollup),
  };
  let exporter: ReadingExport;
  try {
    exporter = new ReadingExport(dbPath);
  } catch (err) {
    fail(`cannot open ${dbPath}: ${(err as Error).message}`);
  }

  // A reader that stops early (`| head`) is not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    fail(`cannot write: ${err.message}`);
  });
  const out = opts.output ? createWriteStream(opts.output) : process.stdout;
  out.on("error", (err: Error) => fail(`cannot write ${opts.output ?? "stdout"}: ${err.message}`));
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  if (query.fromTs !== undefined && query.toTs !== undefined && query.fromTs >= query.toTs) {
    fail("--from must be before --to");
  }
  for (const tag of exporter.unknownTags(query.tags)) {
    process.stderr.write(`plantgate: warning: no tag "${tag}" in the buffer\n`);
  }

  let n: number;
  try {
    bar?.start(exporter.count(query), 0);
    n = await exporter.write(query, opts.format as ExportFormat, out, (d) => bar?.update(d));
  } catch (err) {
    bar?.stop();
    fail(`export failed: ${(err as Error).message}`);
  }
  bar?.stop();
  exporter.close();
  if (out !== process.stdout) {
    out.end();
    await finished(out);
  }
  process.stderr.write(`exported ${n} ${opts.rollup ? "rollup buckets" : "readings"}\n`);
}
