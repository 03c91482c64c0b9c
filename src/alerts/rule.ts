// A threshold rule on one signal: warning and alarm levels, hysteresis on the way back,
// and a debounce so that a severity must hold before it is raised or cleared. Time is the
// monotonic clock, so a wall-clock step cannot raise or clear an alert.
//
// The debounce is kept per level, not per severity: a signal that stays below the warning
// level while it jitters around the alarm level raises the warning after the debounce,
// although the severity it calls for changes with every value.

import type { RuleConfig, Severity } from "../config/schema.js";

/** What a rule reports: a severity, or unknown while its signal is missing or stale. */
export type RuleState = Severity | "unknown";

type Level = "warning" | "alarm";

const RANK: Record<Severity, number> = { ok: 0, warning: 1, alarm: 2 };
/** Highest first: the state is the highest level that holds. */
const LEVELS: readonly Level[] = ["alarm", "warning"];

export function worst(states: readonly RuleState[]): RuleState {
  let out: RuleState = "unknown";
  for (const s of states) {
    if (s === "unknown") continue;
    if (out === "unknown" || RANK[s] > RANK[out]) out = s;
  }
  return out;
}

/** Whether the signal is past a level, and since when it has been so (or not) without a break. */
interface LevelTrack {
  past: boolean;
  sinceMs: number;
}

export class ThresholdRule {
  private current: RuleState = "unknown";
  private known?: Severity;
  private readonly tracks = new Map<Level, LevelTrack>();
  private missingSinceMs?: number;

  constructor(readonly config: RuleConfig) {}

  get state(): RuleState {
    return this.current;
  }

  /** The last severity the rule reported (it may be unknown now); undefined at first. */
  get lastKnown(): Severity | undefined {
    return this.known;
  }

  /**
   * Feeds one value of the signal (undefined: unknown) at monotonic time nowMs. Returns the
   * new state when it changed, else undefined.
   */
  update(value: number | undefined, nowMs: number): RuleState | undefined {
    if (value === undefined || !Number.isFinite(value)) return this.lost(nowMs);
    this.missingSinceMs = undefined;
    this.track(value, nowMs);
    const next = this.current === "unknown" ? this.fromUnknown(nowMs) : this.fromKnown(nowMs);
    return this.change(next);
  }

  /**
   * A lost signal holds the state for the debounce, so one missing value does not drop an
   * active alarm (and its relay) only to raise it again a debounce later.
   */
  private lost(nowMs: number): RuleState | undefined {
    this.tracks.clear();
    this.missingSinceMs ??= nowMs;
    if (nowMs - this.missingSinceMs < this.config.debounceMs) return undefined;
    return this.change("unknown");
  }

  private track(value: number, nowMs: number): void {
    const { below, above, hysteresis } = this.config;
    const levels = (below ?? above) as Partial<Record<Level, number>>;
    const sign = below ? -1 : 1;
    const heldRank = this.current === "unknown" ? -1 : RANK[this.current];
    for (const level of LEVELS) {
      const at = levels[level];
      if (at === undefined) continue;
      // Past a level means below it for a "below" rule, above it for an "above" rule; a
      // level already held lets go only past the hysteresis.
      const held = heldRank >= RANK[level];
      const past = sign * (value - at) > (held ? -hysteresis : 0);
      const t = this.tracks.get(level);
      if (!t || t.past !== past) this.tracks.set(level, { past, sinceMs: nowMs });
    }
  }

  private steady(t: LevelTrack, nowMs: number): boolean {
    return nowMs - t.sinceMs >= this.config.debounceMs;
  }

  /** A held level stays until the signal is off it for the debounce; a higher one is raised
   * once the signal is past it for the debounce. */
  private fromKnown(nowMs: number): Severity {
    const currentRank = RANK[this.current as Severity];
    for (const level of LEVELS) {
      const t = this.tracks.get(level);
      if (!t) continue;
      const steady = this.steady(t, nowMs);
      if (RANK[level] > currentRank ? t.past && steady : t.past || !steady) return level;
    }
    return "ok";
  }

  /** From unknown, too, a state must hold for the debounce before it is reported. */
  private fromUnknown(nowMs: number): RuleState {
    let deciding = false;
    let clearSinceMs = Number.NEGATIVE_INFINITY;
    for (const level of LEVELS) {
      const t = this.tracks.get(level);
      if (!t) continue;
      if (t.past && this.steady(t, nowMs)) return level;
      if (t.past) deciding = true;
      else clearSinceMs = Math.max(clearSinceMs, t.sinceMs);
    }
    if (deciding) return "unknown";
    const clear = { past: false, sinceMs: clearSinceMs };
    return Number.isFinite(clearSinceMs) && !this.steady(clear, nowMs) ? "unknown" : "ok";
  }

  private change(next: RuleState): RuleState | undefined {
    if (next === this.current) return undefined;
    if (next !== "unknown") this.known = next;
    this.current = next;
    return next;
  }
}
