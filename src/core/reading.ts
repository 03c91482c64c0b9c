// A reading is one value of one tag at one instant, with its quality.
// Values keep their native kind: 64-bit integers travel as bigint so they stay exact.

export type Value = number | boolean | string | bigint;

export type BadReason = "timeout" | "exception" | "disconnected" | "decode" | "stale";

export type Quality =
  | { status: "good" }
  | { status: "bad"; reason: BadReason; exceptionCode?: number; detail?: string };

export const GOOD: Quality = Object.freeze({ status: "good" });

export interface Reading {
  /** Tag name, `device.tag`. */
  tag: string;
  /** UTC wall-clock milliseconds. */
  ts: number;
  /** Null when the quality is bad: a gap is stored explicitly, never silently. */
  value: Value | null;
  quality: Quality;
}

/** Where readings go: the store in the daemon, an array in a test. */
export interface ReadingSink {
  write(readings: readonly Reading[]): void;
}
