// A threshold rule on one signal: warning and alarm levels, hysteresis on the way back,
// and a debounce so that a severity must hold before it is raised or cleared. Time is the
// monotonic clock, so a wall-clock step cannot raise or clear an alert.

import type { RuleConfig, Severity } from "../config/schema.js";

/** What a rule reports: a severity, or unknown while its signal is missing or stale. */
export type RuleState = Severity | "unknown";

const RANK: Record<Severity, number> = { ok: 0, warning: 1, alarm: 2 };

export function worst(states: readonly RuleState[]): RuleState {
  let out: RuleState = "unknown";
  for (const s of states) {
    if (s === "unknown") continue;
    if (out === "unknown" || RANK[s] > RANK[out]) out = s;
  }
  return out;
}

export class ThresholdRule {
  private current: RuleState = "unknown";
  private candidate?: { severity: Severity; sinceMs: number };

  constructor(readonly config: RuleConfig) {}

  get state(): RuleState {
    return this.current;
  }

  /**
   * Feeds one value of the signal (undefined: unknown) at monotonic time nowMs. Returns the
   * new state when it changed, else undefined.
   */
  update(value: number | undefined, nowMs: number): RuleState | undefined {
    if (value === undefined || !Number.isFinite(value)) {
      this.candidate = undefined;
      return this.change("unknown");
    }

    const target = this.classify(value);
    if (target === this.current) {
      this.candidate = undefined;
      return undefined;
    }
    if (!this.candidate || this.candidate.severity !== target) {
      this.candidate = { severity: target, sinceMs: nowMs };
    }
    if (nowMs - this.candidate.sinceMs < this.config.debounceMs) return undefined;

    this.candidate = undefined;
    return this.change(target);
  }

  /** The severity the value calls for, with hysteresis applied against the current state. */
  private classify(value: number): Severity {
    const { below, above, hysteresis } = this.config;
    const levels = (below ?? above) as { warning?: number; alarm?: number };
    const sign = below ? -1 : 1;
    // Past a level means below it for a "below" rule, above it for an "above" rule.
    const past = (level: number | undefined, held: boolean) =>
      level !== undefined && sign * (value - level) > (held ? -hysteresis : 0);

    const heldRank = this.current === "unknown" ? -1 : RANK[this.current];
    if (past(levels.alarm, heldRank >= RANK.alarm)) return "alarm";
    if (past(levels.warning, heldRank >= RANK.warning)) return "warning";
    return "ok";
  }

  private change(next: RuleState): RuleState | undefined {
    if (next === this.current) return undefined;
    this.current = next;
    return next;
  }
}
