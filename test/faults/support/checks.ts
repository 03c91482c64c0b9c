// The assertions every fault case makes, from the stored timestamps: the healthy unit kept
// being read on time with its own fresh values, the faulty unit's gap was stored as bad
// readings rather than left silent, it came back within its bound once the fault ended,
// and the daemon logged transitions rather than a line per failed poll.

import { expect } from "vitest";
import { unitOfValue } from "../../peers/fault-units.js";
import {
  type DaemonRun,
  MEASUREMENT_TOLERANCE_MS,
  POLL_MS,
  RECONNECT_RECOVERY_MS,
  SILENT_RECOVERY_MS,
  type StoredReading,
  TIMEOUT_MS,
} from "./harness.js";

/** When the test switched the fault on and off (wall clock, as stored). */
export interface Episode {
  on: number;
  off: number;
}

/** The pair rig.ts sets up: device `healthy` on unit 1, device `faulty` on unit 2. */
const PAIR = { healthy: "healthy.count", healthyUnit: 1, faulty: "faulty.count", faultyUnit: 2 };

export interface FaultCase {
  /** `device.tag` of the healthy unit, and the unit id its values must name (default PAIR). */
  healthy?: string;
  healthyUnit?: number;
  faulty?: string;
  faultyUnit?: number;
  episode: Episode;
  /** Longest the faulty unit may take to read good again after the fault ends. */
  recoveryBoundMs: number;
  /** Reasons its bad readings may carry during the fault; the first must occur. */
  badReasons?: string[];
  exceptionCode?: number;
  /** Down transitions allowed in the episode (default 1: a steady fault is one outage). */
  maxDowns?: number;
  /** Longest the healthy unit may go between good readings (default: one poll + timeout). */
  healthyGapBoundMs?: number;
}

/** A fault the daemon sees as timeouts (the unit silent, late or garbled): its bounds. */
export const TIMING_OUT = {
  recoveryBoundMs: SILENT_RECOVERY_MS,
  badReasons: ["timeout"],
} satisfies Partial<FaultCase>;

/**
 * A fault that takes the faulty unit's whole connection away: its bounds. The healthy unit,
 * on a connection of its own, must not miss a single poll.
 */
export const CONNECTION_LOST = {
  recoveryBoundMs: RECONNECT_RECOVERY_MS,
  badReasons: ["disconnected", "timeout"],
  healthyGapBoundMs: POLL_MS,
} satisfies Partial<FaultCase>;

export interface Measured {
  worstHealthyGapMs: number;
  /** Longest the faulty unit went without any stored reading during the fault. */
  faultySilenceMs: number;
  recoveryMs: number;
  faultyBad: number;
  warnings: number;
}

/** Largest difference between consecutive timestamps. */
export function worstGap(ts: readonly number[]): number {
  let worst = 0;
  for (let i = 1; i < ts.length; i++) worst = Math.max(worst, (ts[i] ?? 0) - (ts[i - 1] ?? 0));
  return worst;
}

const good = (r: StoredReading) => r.quality === "good";

/** Every good value came from `unitId` and is newer than the one before: fresh reads. */
export function expectFreshValuesOf(rows: StoredReading[], unitId: number): void {
  const values = rows.filter(good).map((r) => r.value as number);
  expect(values.length).toBeGreaterThan(0);
  expect(values.filter((v) => unitOfValue(v) !== unitId)).toEqual([]);
  const notNewer = values.filter((v, i) => i > 0 && v <= (values[i - 1] ?? 0));
  expect(notNewer).toEqual([]);
}

/** Asserts (a), (b), (d) and (e) of a fault case; returns what was measured. */
export function expectFaultCase(run: DaemonRun, given: FaultCase): Measured {
  const c = { ...PAIR, ...given };
  const healthy = run.readings(c.healthy);
  const faulty = run.readings(c.faulty);

  // (a) The healthy unit: on time, its own values, fresh.
  const healthyGapBound = c.healthyGapBoundMs ?? POLL_MS + TIMEOUT_MS;
  const worstHealthyGapMs = worstGap(healthy.filter(good).map((r) => r.ts));
  expect(worstHealthyGapMs).toBeLessThanOrEqual(healthyGapBound + MEASUREMENT_TOLERANCE_MS);
  expectFreshValuesOf(healthy, c.healthyUnit);
  expectFreshValuesOf(faulty, c.faultyUnit);

  // (d) The faulty unit's gap is stored as bad readings, never silent.
  const during = faulty.filter((r) => r.ts >= c.episode.on && r.ts <= c.episode.off);
  const bad = during.filter((r) => !good(r));
  expect(bad.length).toBeGreaterThan(0);
  if (c.badReasons) {
    const reasons = new Set(bad.map((r) => r.reason));
    expect([...reasons].filter((r) => !c.badReasons?.includes(r ?? ""))).toEqual([]);
    expect(reasons.has(c.badReasons[0] ?? "")).toBe(true);
  }
  if (c.exceptionCode !== undefined) {
    expect(new Set(bad.map((r) => r.exception_code))).toEqual(new Set([c.exceptionCode]));
  }
  const silence = worstGap(during.map((r) => r.ts));
  expect(silence).toBeLessThanOrEqual(POLL_MS + TIMEOUT_MS + MEASUREMENT_TOLERANCE_MS);

  // (b) Good again within the bound after the fault ends.
  const back = faulty.find((r) => good(r) && r.ts >= c.episode.off);
  expect(back, "a good reading of the faulty unit after the fault").toBeDefined();
  const recoveryMs = (back?.ts ?? Number.POSITIVE_INFINITY) - c.episode.off;
  expect(recoveryMs).toBeLessThanOrEqual(c.recoveryBoundMs + MEASUREMENT_TOLERANCE_MS);

  // (e) Transitions, not a line per failed poll: down and up events alternate, and each
  // down brings at most two warnings (down, degraded), however many polls failed.
  const faultyDevice = c.faulty.split(".")[0] ?? "";
  const downs = run.events("device.down", faultyDevice).map((ts) => ({ ts, kind: "down" }));
  const ups = run.events("device.up", faultyDevice).map((ts) => ({ ts, kind: "up" }));
  const transitions = [...downs, ...ups].sort((a, b) => a.ts - b.ts).map((t) => t.kind);
  expect(transitions.filter((k, i) => k === transitions[i - 1])).toEqual([]);
  expect(transitions[0] ?? "down").toBe("down");
  expect(ups.length).toBe(downs.length);
  expect(downs.length).toBeLessThanOrEqual(c.maxDowns ?? 1);
  const warnings = run.warnings(faultyDevice).length;
  expect(warnings).toBeLessThanOrEqual(2 * downs.length);

  const faultySilenceMs = silence;
  return { worstHealthyGapMs, faultySilenceMs, recoveryMs, faultyBad: bad.length, warnings };
}
