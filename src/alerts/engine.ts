// Alerts flow signal → rule → severity → outputs. The engine feeds each signal value to the
// rules that watch it, records every change of state, and drives the outputs.

import type { RuleConfig, Severity } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventKind, EventSink } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
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

export class AlertEngine implements Component {
  readonly name = "alerts";
  private readonly rules: ThresholdRule[];
  private pending: Promise<void> = Promise.resolve();
  private running = false;
  private raised = 0;
  private outputFailures = 0;

  constructor(private readonly deps: AlertDeps) {
    this.rules = deps.rules.map((r) => new ThresholdRule(r));
  }

  async start(): Promise<void> {
    this.running = true;
  }

  /** Takes no more values, and waits until the outputs have every change requested. */
  async stop(): Promise<void> {
    this.running = false;
    await this.pending;
  }

  health(): Health {
    const states = Object.fromEntries(this.states());
    const status = this.outputFailures ? "degraded" : "ok";
    return { status, rules: states, raised: this.raised, outputFailures: this.outputFailures };
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
    if (!this.running) return;
    const nowMs = this.deps.clock.monotonic();
    let changed = false;
    for (const rule of this.rules) {
      if (rule.config.signal !== signal) continue;
      const from = rule.state;
      const known = rule.lastKnown;
      const next = rule.update(value, nowMs);
      if (next === undefined) continue;
      changed = true;
      this.record(rule, { from, known, to: next }, value);
    }
    if (changed) {
      const states = this.states();
      // Output writes are serialized so that levels land in the order states changed.
      this.pending = this.pending
        .then(() => this.deps.onChange(states))
        .catch((err: Error) => {
          this.outputFailures++;
          this.deps.logger.error({ err: err.message }, "outputs not driven");
        });
    }
  }

  /**
   * Logs and records one change. Coming back from unknown, the change is judged against the
   * last known severity: a rule that was ok before its signal was lost, or has never judged,
   * is not "cleared" when it reads ok again.
   */
  private record(rule: ThresholdRule, change: Change, value: number | undefined): void {
    const { logger, events, clock } = this.deps;
    const { from, to } = change;
    const name = rule.config.name;
    const before = from === "unknown" ? (change.known ?? "ok") : from;
    const fields = { rule: name, signal: rule.config.signal, from, severity: to, value };
    const kind = eventKind(before, to);
    if (kind === "alert.raised") this.raised++;

    if (kind === "alert.raised") logger.warn(fields, "alert raised");
    else if (kind === "alert.unknown") logger.warn(fields, "alert state unknown");
    else if (kind === undefined) logger.info(fields, "alert state known");
    else if (to === "ok") logger.info(fields, "alert cleared");
    else logger.info(fields, "alert lowered");

    if (kind === undefined && change.known === undefined) return;
    events.event({
      ts: clock.now(),
      kind: kind ?? "alert.known",
      source: name,
      message: `${name}: ${from} → ${to}`,
      data: { from, severity: to, value: value ?? null },
    });
  }
}

interface Change {
  from: RuleState;
  /** The rule's last severity before this change, when it had one. */
  known: Severity | undefined;
  to: RuleState;
}

const RANK: Record<Severity, number> = { ok: 0, warning: 1, alarm: 2 };

/** undefined: back from unknown at the severity it had (or ok, the first time). */
function eventKind(before: Severity, to: RuleState): EventKind | undefined {
  if (to === "unknown") return "alert.unknown";
  if (RANK[to] > RANK[before]) return "alert.raised";
  if (RANK[to] < RANK[before]) return "alert.cleared";
  return undefined;
}
