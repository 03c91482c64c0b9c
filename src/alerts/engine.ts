// Alerts flow signal → rule → severity → outputs. The engine feeds each signal value to the
// rules that watch it, records every change of state, and drives the outputs.

import type { RuleConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";
import { type RuleState, ThresholdRule } from "./rule.js";

export interface AlertDeps {
  rules: RuleConfig[];
  clock: Clock;
  logger: Logger;
  events: EventSink;
  /** Called with every rule's state after any change. */
  onChange: (states: ReadonlyMap<string, RuleState>) => Promise<void>;
}

export class AlertEngine {
  private readonly rules: ThresholdRule[];
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AlertDeps) {
    this.rules = deps.rules.map((r) => new ThresholdRule(r));
  }

  /** The signals the rules watch: "prediction" or tag names. */
  signals(): Set<string> {
    return new Set(this.rules.map((r) => r.config.signal));
  }

  states(): Map<string, RuleState> {
    return new Map(this.rules.map((r) => [r.config.name, r.state]));
  }

  /** One value of a signal; undefined means the signal is unknown (stale or missing). */
  feed(signal: string, value: number | undefined): void {
    const nowMs = this.deps.clock.monotonic();
    let changed = false;
    for (const rule of this.rules) {
      if (rule.config.signal !== signal) continue;
      const from = rule.state;
      const next = rule.update(value, nowMs);
      if (next === undefined) continue;
      changed = true;
      this.record(rule, from, next, value);
    }
    if (changed) {
      const states = this.states();
      // Output writes are serialized so that levels land in the order states changed.
      this.pending = this.pending
        .then(() => this.deps.onChange(states))
        .catch((err: Error) => this.deps.logger.error({ err: err.message }, "outputs not driven"));
    }
  }

  /** Resolves once every output change requested so far has been written. */
  settled(): Promise<void> {
    return this.pending;
  }

  private record(
    rule: ThresholdRule,
    from: RuleState,
    to: RuleState,
    value: number | undefined,
  ): void {
    const { logger, events, clock } = this.deps;
    const name = rule.config.name;
    const raised = rank(to) > rank(from);
    const fields = { rule: name, signal: rule.config.signal, from, severity: to, value };
    if (raised) logger.warn(fields, "alert raised");
    else if (to === "ok") logger.info(fields, "alert cleared");
    else if (to === "unknown") logger.warn(fields, "alert state unknown");
    else logger.info(fields, "alert lowered");

    events.event({
      ts: clock.now(),
      kind: raised ? "alert.raised" : to === "unknown" ? "alert.unknown" : "alert.cleared",
      source: name,
      message: `${name}: ${from} → ${to}`,
      data: { from, severity: to, value: value ?? null },
    });
  }
}

/** Warning and alarm outrank ok; unknown outranks nothing, so leaving it raises only alerts. */
function rank(state: RuleState): number {
  return { unknown: 0, ok: 0, warning: 1, alarm: 2 }[state];
}
