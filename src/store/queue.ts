// The store's bounded in-memory queue of readings waiting for a commit. Besides the readings
// it keeps two marks that must travel with them exactly: how many at the head were taken
// before the clock was known to be synchronized, and where the last backwards clock jump
// falls, so the history segment boundary lands between the right two readings even when
// the jump happens while the disk refuses writes.

import type { Reading } from "../core/reading.js";

export class ReadingQueue {
  private items: Reading[] = [];
  /** Readings at the head taken before the clock was known to be synchronized. */
  private unsyncedHead = 0;
  /** Readings at the head taken before the last backwards jump not yet committed. */
  private beforeJump?: number;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Queues readings; returns how many of the oldest had to go to stay within capacity. */
  push(readings: readonly Reading[], synced: boolean): number {
    for (const r of readings) this.items.push(r);
    if (!synced) this.unsyncedHead += readings.length;
    const overflow = this.items.length - this.capacity;
    if (overflow <= 0) return 0;
    this.remove(overflow);
    return overflow;
  }

  /** The oldest `max` readings, left in the queue until `committed` says they are written. */
  head(max: number): Reading[] {
    return this.items.slice(0, max);
  }

  /** How many of the first `n` readings were taken before the clock was synchronized. */
  unsyncedIn(n: number): number {
    return Math.min(this.unsyncedHead, n);
  }

  /** A backwards jump: readings queued so far belong to the segment before it. */
  markJump(): void {
    this.beforeJump = this.items.length;
  }

  /**
   * The index in the next `n` readings where the new segment starts, if it starts there
   * (n itself when the queue ends at the boundary); undefined without a pending boundary.
   */
  jumpWithin(n: number): number | undefined {
    if (this.beforeJump === undefined || this.beforeJump > n) return undefined;
    return this.beforeJump;
  }

  /** The boundary is on disk: forget it. */
  jumpRecorded(): void {
    this.beforeJump = undefined;
  }

  /** The first `n` readings are committed. */
  committed(n: number): void {
    this.remove(n);
  }

  /** Everything still queued, e.g. to count what a stop could not write. */
  drain(): Reading[] {
    const all = this.items;
    this.items = [];
    this.unsyncedHead = 0;
    return all;
  }

  private remove(n: number): void {
    this.items.splice(0, n);
    this.unsyncedHead = Math.max(0, this.unsyncedHead - n);
    if (this.beforeJump !== undefined) this.beforeJump = Math.max(0, this.beforeJump - n);
  }
}
