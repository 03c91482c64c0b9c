// Time spans when a rule was in alarm, so training can leave those rows out: a model that
// learns the plant's behaviour during a fault would call that behaviour normal. The spans
// come from the alert events the engine records in the buffer.

import Database from "better-sqlite3";

export interface TimeSpan {
  fromTs: number;
  /** Exclusive. */
  toTs: number;
}

export interface AlarmSpanSource {
  /** Spans overlapping [fromTs, toTs) when any rule was in alarm, in time order. */
  alarmSpans(fromTs: number, toTs: number): TimeSpan[];
}

export interface AlertEventRow {
  ts: number;
  kind: string;
  /** The rule's name for alert events. */
  source: string;
  /** The rule's new severity, for alert events. */
  severity?: string;
}

/**
 * Folds alert events (oldest first) into spans: a rule is in alarm from an event whose
 * severity is `alarm` until its next event. A daemon stop or start ends every open span,
 * since a rule's state does not outlive the process. Spans still open end at toTs.
 */
export function spansFromAlertEvents(
  events: readonly AlertEventRow[],
  fromTs: number,
  toTs: number,
): TimeSpan[] {
  const open = new Map<string, number>();
  const spans: TimeSpan[] = [];
  const close = (rule: string, ts: number) => {
    const start = open.get(rule);
    open.delete(rule);
    const overlaps = start !== undefined && ts > fromTs && start < toTs;
    if (overlaps) spans.push({ fromTs: start, toTs: ts });
  };

  for (const e of events) {
    if (e.ts >= toTs) break;
    if (e.kind === "daemon.started" || e.kind === "daemon.stopped") {
      for (const rule of [...open.keys()]) close(rule, e.ts);
      continue;
    }
    if (!e.kind.startsWith("alert.")) continue;
    if (e.severity === "alarm") {
      if (!open.has(e.source)) open.set(e.source, e.ts);
    } else {
      close(e.source, e.ts);
    }
  }
  for (const rule of [...open.keys()]) close(rule, toTs);
  return spans.sort((a, b) => a.fromTs - b.fromTs);
}

/** Keeps the items whose ts is outside every span; spans in time order. */
export function outsideSpans<T extends { ts: number }>(
  items: readonly T[],
  spans: readonly TimeSpan[],
): T[] {
  if (spans.length === 0) return [...items];
  return items.filter((item) => !spans.some((s) => item.ts >= s.fromTs && item.ts < s.toTs));
}

const KINDS = [
  "alert.raised",
  "alert.cleared",
  "alert.unknown",
  "alert.known",
  "daemon.started",
  "daemon.stopped",
];

/**
 * Reads alert events from the buffer's SQLite file through a read-only connection of its
 * own, opened per call: training asks rarely, and the store may move a corrupt file aside
 * and start a new one at any time.
 */
export class StoreAlarmSpans implements AlarmSpanSource {
  constructor(private readonly dbPath: string) {}

  alarmSpans(fromTs: number, toTs: number): TimeSpan[] {
    let db: Database.Database | undefined;
    try {
      db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      // LIMITATION: reads every alert event before toTs, to know which rules were already
      // in alarm at fromTs. Alerts are rare, so this stays small; a per-rule "last event
      // before fromTs" query would bound it on a site with chattering rules.
      const rows = db
        .prepare(
          `SELECT ts, kind, source, json_extract(data, '$.severity') AS severity FROM events
           WHERE kind IN (${KINDS.map(() => "?").join(", ")}) AND ts < ? ORDER BY ts, id`,
        )
        .all(...KINDS, toTs) as AlertEventRow[];
      return spansFromAlertEvents(rows, fromTs, toTs);
    } finally {
      db?.close();
    }
  }
}
