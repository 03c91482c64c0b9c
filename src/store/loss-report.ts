// Counts one kind of loss (readings dropped from a full queue, values SQLite cannot take,
// events or predictions that did not fit) exactly, and reports it without flooding: the
// first loss after a quiet spell is logged and recorded at once, later ones are summed and
// reported once per interval with the count since the last report and the total.

import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";

export const LOSS_REPORT_INTERVAL_MS = 60_000;

export interface LossReportDeps {
  /** Short name used in the log fields and the event data, e.g. "readingsDropped". */
  key: string;
  /** What happened, for the log line and the event message, e.g. "queue full: dropped". */
  what: string;
  /** What was lost, for the event message, e.g. "readings". */
  unit: string;
  clock: Clock;
  logger: Logger;
  events: EventSink;
  intervalMs?: number;
}

export class LossReport {
  /** Every loss since start, exact whatever was reported. */
  total = 0;
  private pending = 0;
  private lastReport?: number;
  private lastLoss?: number;
  private pendingSample?: Record<string, unknown>;

  constructor(private readonly deps: LossReportDeps) {}

  private get intervalMs(): number {
    return this.deps.intervalMs ?? LOSS_REPORT_INTERVAL_MS;
  }

  /** `sample` describes one of the lost items (a tag, an error) for the report. */
  add(count: number, sample?: Record<string, unknown>): void {
    if (count <= 0) return;
    const now = this.deps.clock.monotonic();
    this.total += count;
    this.lastLoss = now;
    this.pending += count;
    this.pendingSample ??= sample;
    const quiet = this.lastReport === undefined || now - this.lastReport >= this.intervalMs;
    if (quiet) this.report(now);
  }

  /** Called on the store's timer: sends the summary of losses held back since the last one. */
  tick(): void {
    const now = this.deps.clock.monotonic();
    if (this.pending && now - (this.lastReport ?? 0) >= this.intervalMs) this.report(now);
  }

  /** At stop: whatever is held back is reported now, not never. */
  reportPending(): void {
    if (this.pending) this.report(this.deps.clock.monotonic());
  }

  /** True while losses happened within the last interval: the store reports itself degraded. */
  recent(): boolean {
    if (this.lastLoss === undefined) return false;
    return this.deps.clock.monotonic() - this.lastLoss < this.intervalMs;
  }

  private report(now: number): void {
    const { key, what, unit, logger, events, clock } = this.deps;
    const count = this.pending;
    const sample = this.pendingSample;
    // State first: the event below may itself overflow a queue and come back here.
    this.pending = 0;
    this.pendingSample = undefined;
    this.lastReport = now;
    const data = { [key]: count, [`${key}Total`]: this.total, ...(sample && { sample }) };
    logger.error(data, `store ${what}`);
    events.event({
      ts: clock.now(),
      kind: "store.incident",
      source: "store",
      message: `${what} ${count} ${unit} (${this.total} since start)`,
      data,
    });
  }
}
