// Event-level scoring of an alarm against labelled anomaly segments, and the alarm itself:
// plantgate's ThresholdRule fed one value per row at the row's own time, so the figures
// measure the daemon's real debounce and hysteresis.

import { ThresholdRule, worst } from "../alerts/rule.js";
import { type RuleConfig, ruleSchema } from "../config/schema.js";

/** A run of consecutive rows, [start, end). */
export interface Segment {
  start: number;
  end: number;
}

/** The runs of rows where `on` holds. */
export function segmentsOf(on: readonly boolean[]): Segment[] {
  const out: Segment[] = [];
  let start = -1;
  on.forEach((v, i) => {
    if (v && start < 0) start = i;
    if (!v && start >= 0) {
      out.push({ start, end: i });
      start = -1;
    }
  });
  if (start >= 0) out.push({ start, end: on.length });
  return out;
}

export function alarmRule(name: string, levels: { above?: number; below?: number }): RuleConfig {
  const side = (v: number | undefined) => (v === undefined ? undefined : { alarm: v });
  return ruleSchema.parse({
    name,
    signal: name,
    above: side(levels.above),
    below: side(levels.below),
    debounceMs: DEBOUNCE_MS,
  });
}

/** A level must hold this long before the alarm is raised or cleared: a few 1 Hz samples. */
export const DEBOUNCE_MS = 3000;

/** True per row while the worst of the rules is in alarm. */
export function alarmRows(
  signal: readonly number[],
  seconds: readonly number[],
  configs: readonly RuleConfig[],
): boolean[] {
  const rules = configs.map((c) => new ThresholdRule(c));
  return signal.map((v, i) => {
    const now = (seconds[i] as number) * 1000;
    for (const rule of rules) rule.update(v, now);
    return worst(rules.map((r) => r.state)) === "alarm";
  });
}

export interface EventCounts {
  alarmEvents: number;
  /** Alarm events that overlap a labelled segment (and did not start on the first row). */
  truePositives: number;
  /** Alarm events on from a run's first row: no detection, whatever they overlap. */
  onFromStart: number;
  segments: number;
  /** Labelled segments overlapped by at least one alarm event. */
  detected: number;
  /** Seconds from each detected segment's changepoint to its first alarm row. */
  delays: number[];
  /** Rows outside every segment, and those of them in alarm. */
  normalRows: number;
  normalAlarmRows: number;
}

/**
 * An alarm raised within this long of a run's first row was on from the start: the rule's
 * debounce, counted from the first row, and one 1 Hz sample more.
 */
const START_GRACE_S = DEBOUNCE_MS / 1000 + 1;

/**
 * Event-level scoring. An alarm event (a run of alarm rows) that overlaps a labelled
 * segment is a true positive, one that overlaps none a false positive; a labelled segment
 * that no alarm event overlaps is a false negative. An alarm on from the run's first row
 * (raised within startGraceS of it) detected nothing: it is a false positive even where it
 * overlaps a segment, and such a segment counts as detected only by a later event. The
 * delay runs from the segment's changepoint (its first row with changepoint = 1, else its
 * first row) to the first alarm row at or after it inside the segment, of an event that
 * counts as a detection.
 */
export function scoreEvents(
  labels: {
    anomaly: readonly number[];
    changepoint: readonly number[];
    seconds: readonly number[];
  },
  alarm: readonly boolean[],
  startGraceS = START_GRACE_S,
): EventCounts {
  const segments = segmentsOf(labels.anomaly.map((a) => a === 1));
  const events = segmentsOf(alarm);
  const t0 = labels.seconds[0] ?? 0;
  const detections = events.filter((e) => (labels.seconds[e.start] as number) - t0 > startGraceS);
  const overlaps = (a: Segment, b: Segment) => a.start < b.end && b.start < a.end;
  const delays: number[] = [];
  for (const seg of segments) {
    let cp = seg.start;
    while (cp < seg.end && labels.changepoint[cp] !== 1) cp++;
    if (cp === seg.end) cp = seg.start;
    const first = firstAlarmRow(detections, cp, seg.end);
    if (first !== undefined) {
      delays.push((labels.seconds[first] as number) - (labels.seconds[cp] as number));
    }
  }
  const inSegment = new Set(segments.flatMap((s) => range(s)));
  const normal = alarm.map((_, i) => i).filter((i) => !inSegment.has(i));
  return {
    alarmEvents: events.length,
    truePositives: detections.filter((e) => segments.some((s) => overlaps(e, s))).length,
    onFromStart: events.length - detections.length,
    segments: segments.length,
    detected: segments.filter((s) => detections.some((e) => overlaps(e, s))).length,
    delays,
    normalRows: normal.length,
    normalAlarmRows: normal.filter((i) => alarm[i]).length,
  };
}

/** The first row in [from, to) that one of `events` covers. */
function firstAlarmRow(events: readonly Segment[], from: number, to: number) {
  let first: number | undefined;
  for (const e of events) {
    const row = Math.max(e.start, from);
    if (row < e.end && row < to && (first === undefined || row < first)) first = row;
  }
  return first;
}

function range(s: Segment): number[] {
  return Array.from({ length: s.end - s.start }, (_, k) => s.start + k);
}

export function sumCounts(all: readonly EventCounts[]): EventCounts {
  const sum = (f: (c: EventCounts) => number) => all.reduce((s, c) => s + f(c), 0);
  return {
    alarmEvents: sum((c) => c.alarmEvents),
    truePositives: sum((c) => c.truePositives),
    onFromStart: sum((c) => c.onFromStart),
    segments: sum((c) => c.segments),
    detected: sum((c) => c.detected),
    delays: all.flatMap((c) => c.delays),
    normalRows: sum((c) => c.normalRows),
    normalAlarmRows: sum((c) => c.normalAlarmRows),
  };
}

export interface EventScore {
  precision: number;
  recall: number;
  f1: number;
}

/** Precision over alarm events, recall over labelled segments; no alarm gives precision 0. */
export function eventScore(c: EventCounts): EventScore {
  const precision = c.alarmEvents === 0 ? 0 : c.truePositives / c.alarmEvents;
  const recall = c.segments === 0 ? 0 : c.detected / c.segments;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}
