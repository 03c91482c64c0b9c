// Report by exception. A tag with a `deadband` emits a good value only when it moved more
// than the deadband from the last value emitted, when `maxSilentMs` passed since then, or when
// its quality changed. Bad readings are always emitted: a gap must be stored.

import type { TagConfig } from "../../config/schema.js";
import type { Reading, Value } from "../../core/reading.js";

interface Emitted {
  value: Value | null;
  good: boolean;
  at: number;
}

export class DeadbandFilter {
  private readonly last = new Map<string, Emitted>();
  /** Good readings held back because they had not moved. */
  suppressed = 0;

  /** Whether `reading` of `tag` should be stored; `now` is monotonic milliseconds. */
  pass(tag: Pick<TagConfig, "deadband" | "maxSilentMs">, reading: Reading, now: number): boolean {
    if (tag.deadband === undefined) return true;
    const good = reading.quality.status === "good";
    const previous = this.last.get(reading.tag);
    const emit =
      !good ||
      previous === undefined ||
      !previous.good ||
      (tag.maxSilentMs !== undefined && now - previous.at >= tag.maxSilentMs) ||
      moved(previous.value, reading.value, tag.deadband);
    if (emit) this.last.set(reading.tag, { value: reading.value, good, at: now });
    else this.suppressed++;
    return emit;
  }
}

// Numbers and bigints compare by distance; booleans and strings by any change.
function moved(before: Value | null, after: Value | null, deadband: number): boolean {
  if (typeof before === "bigint" && typeof after === "bigint") {
    const diff = after > before ? after - before : before - after;
    return Number(diff) > deadband;
  }
  if (typeof before === "number" && typeof after === "number") {
    return Math.abs(after - before) > deadband;
  }
  return before !== after;
}
