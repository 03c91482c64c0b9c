// Whether a unit answers, and whether it is polled at all. After `afterFailures` polls in a
// row without any answer the unit is degraded: skipped for `skipMs`, then probed with one
// request; each failed probe doubles the skip up to `maxSkipMs`; any answer restores normal
// polling at once. A skip runs from the start of the poll (or probe) that failed, so probes
// come every skip however long each waits for its timeout. So a dead unit costs its
// connection one timeout per skip, not one per poll, and is back within maxSkipMs plus one
// poll interval after its fault ends. When its connection comes back after being lost, the
// skip is cleared: the next poll probes at once.

import type { DeviceConfig } from "../../config/schema.js";

export type DeviceState = "unknown" | "up" | "down" | "degraded";

/** What the next poll of one of the unit's groups should do. */
export type Admission = "poll" | "probe" | "skip";

/** A change worth a log line (and for down and up, an event). */
export type Transition = "answering" | "up" | "down" | "degraded";

export class DeviceHealth {
  state: DeviceState = "unknown";
  /** Polls in a row in which the unit answered nothing. */
  consecutiveFailures = 0;
  skipMs = 0;
  skipUntil = 0;
  private probing = false;

  constructor(private readonly degrade: DeviceConfig["degrade"]) {}

  /** Polls go ahead unless degraded; then one probe once the skip has run out. */
  admit(now: number): Admission {
    if (this.state !== "degraded") return "poll";
    if (this.probing || now < this.skipUntil) return "skip";
    this.probing = true;
    return "probe";
  }

  /** The unit answered something (values or an exception). */
  answered(): Transition[] {
    const previous = this.state;
    this.state = "up";
    this.consecutiveFailures = 0;
    this.probing = false;
    this.skipMs = 0;
    if (previous === "up") return [];
    return previous === "unknown" ? ["answering"] : ["up"];
  }

  /**
   * The unit's connection is open again after it was lost: a degraded unit is probed at its
   * next poll rather than after its skip. True when a skip was cleared.
   */
  reconnected(): boolean {
    if (this.state !== "degraded" || this.probing || this.skipUntil === 0) return false;
    this.skipUntil = 0;
    return true;
  }

  /**
   * A poll (or a probe) in which the unit answered nothing: timeout, disconnected, or a
   * gateway's exception 10 or 11. `startedAt`: when that poll began.
   */
  unanswered(startedAt: number): Transition[] {
    this.consecutiveFailures++;
    if (this.state === "degraded") {
      this.probing = false;
      this.skipMs = Math.min(this.skipMs * 2, this.degrade.maxSkipMs);
      this.skipUntil = startedAt + this.skipMs;
      return [];
    }
    const transitions: Transition[] = [];
    if (this.state !== "down") {
      this.state = "down";
      transitions.push("down");
    }
    if (this.consecutiveFailures >= this.degrade.afterFailures) {
      this.state = "degraded";
      this.skipMs = Math.min(this.degrade.skipMs, this.degrade.maxSkipMs);
      this.skipUntil = startedAt + this.skipMs;
      transitions.push("degraded");
    }
    return transitions;
  }
}
