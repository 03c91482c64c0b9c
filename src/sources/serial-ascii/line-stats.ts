// Counting a sensor's lines and telling the operator about garbage without flooding the
// log: one warn when garbage starts, a summary per interval while it lasts, one info when
// the line is clean again. Each dropped line itself is logged at debug only.

import type { Logger } from "../../core/logger.js";
import { GARBAGE_REASONS, type GarbageReason } from "./frame.js";

type ByReason = Record<GarbageReason, number>;

function zeroes(): ByReason {
  return Object.fromEntries(GARBAGE_REASONS.map((r) => [r, 0])) as ByReason;
}

export class LineStats {
  lines = 0;
  parsed = 0;
  /** Fields present in a parsed line but not numbers: stored as bad readings. */
  badFields = 0;
  readonly garbage: ByReason = zeroes();
  /** True from the first trouble until a summary interval passes without any. */
  troubled = false;
  private lastGarbage: ByReason = zeroes();
  private lastBadFields = 0;
  private lastLines = 0;

  constructor(private readonly log: Logger) {}

  dropped(reason: GarbageReason, detail: string): void {
    this.garbage[reason]++;
    this.log.debug({ reason, detail }, "sensor line dropped");
    this.trouble({ reason, detail });
  }

  badField(field: string, text: string): void {
    this.badFields++;
    this.log.debug({ field, text }, "sensor field not a number");
    this.trouble({ reason: "notANumber", field, text });
  }

  /** Called every summary interval. */
  summarize(intervalMs: number): void {
    const dropped = Object.fromEntries(
      GARBAGE_REASONS.map((r) => [r, this.garbage[r] - this.lastGarbage[r]]).filter(
        ([, n]) => n !== 0,
      ),
    );
    const badFields = this.badFields - this.lastBadFields;
    const lines = this.lines - this.lastLines;
    Object.assign(this.lastGarbage, this.garbage);
    this.lastBadFields = this.badFields;
    this.lastLines = this.lines;

    if (Object.keys(dropped).length || badFields) {
      this.log.warn({ intervalMs, lines, dropped, badFields }, "sensor garbage summary");
    } else if (this.troubled) {
      this.troubled = false;
      this.log.info({ intervalMs, lines }, "sensor lines clean again");
    }
  }

  private trouble(first: Record<string, unknown>): void {
    if (this.troubled) return;
    this.troubled = true;
    this.log.warn(first, "sensor sending garbage: dropping bad lines, summary follows");
  }
}
