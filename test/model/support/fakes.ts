// Fakes for the learner's sources, and CCPP as a per-second history, shared by model tests.

import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../../src/core/logger.js";
import type {
  HistorySource,
  LatestSource,
  LatestValue,
  TimeSeries,
} from "../../../src/core/series.js";

export const CCPP_FEATURES = ["plant.AT", "plant.V", "plant.AP", "plant.RH"];
export const CCPP_TARGET = "plant.PE";

/** CCPP rows [from, to) as x (AT, V, AP, RH) and y (PE). */
export function ccppRows(path: string, from: number, to: number) {
  const lines = readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .slice(1 + from, 1 + to);
  const rows = lines.map((l) => l.split(",").map(Number));
  return { x: rows.map((r) => r.slice(0, 4)), y: rows.map((r) => r[4] as number) };
}

/** The first `rows` CCPP rows as one reading per tag per gridMs from t0 (100 ms into a cell). */
export function ccppHistory(path: string, rows: number, t0: number, gridMs: number) {
  const { x, y } = ccppRows(path, 0, rows);
  const tags = [...CCPP_FEATURES, CCPP_TARGET];
  const out = new Map(tags.map((t) => [t, { ts: [] as number[], values: [] as number[] }]));
  x.forEach((row, i) => {
    [...row, y[i] as number].forEach((v, c) => {
      const s = out.get(tags[c] as string) as TimeSeries;
      s.ts.push(t0 + i * gridMs + 100);
      s.values.push(v);
    });
  });
  return out;
}

export class FakeHistory implements HistorySource {
  calls = 0;
  constructor(private readonly data: Map<string, TimeSeries>) {}
  history(tags: readonly string[], fromTs: number, toTs: number) {
    this.calls++;
    const out = new Map<string, TimeSeries>();
    for (const tag of tags) {
      const s = this.data.get(tag) ?? { ts: [], values: [] };
      const series: TimeSeries = { ts: [], values: [] };
      s.ts.forEach((ts, i) => {
        if (ts < fromTs || ts >= toTs) return;
        series.ts.push(ts);
        series.values.push(s.values[i] as number);
      });
      out.set(tag, series);
    }
    return out;
  }
}

export class FakeLatest implements LatestSource {
  values = new Map<string, LatestValue>();
  latest(tag: string) {
    return this.values.get(tag);
  }
}

/** A logger whose JSON lines land in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger("debug", sink), lines };
}

export function waitFor<T>(what: string, probe: () => T | undefined, deadlineMs = 50_000) {
  const started = Date.now();
  return new Promise<T>((resolve, reject) => {
    const tick = () => {
      const value = probe();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > deadlineMs) return reject(new Error(`timed out: ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}
