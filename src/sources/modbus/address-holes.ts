// What a device taught the poller about the addresses it refuses. A device that answers
// exception 2 (illegal data address) to a merged read usually has a hole in its register map
// inside the block; the poller finds it by splitting the read and records it here, per table,
// so later plans read around it and the rest of the block keeps flowing.
//
// What is learned is kept while the unit answers, and over short outages; the poller forgets
// it when the unit comes back after being degraded, since a device out that long may have
// been restarted with new firmware or a module plugged in, and its map may have grown back.
//
// LIMITATION: when one half of a refused read is itself refused, a second hole in the gap
// beside it is found only by a later poll; the tags clear of holes read well in every poll
// meanwhile.

import type { TagTable } from "../../config/schema.js";

export class AddressHoles {
  private readonly illegal = new Map<TagTable, Set<number>>();
  private readonly breaks = new Map<TagTable, Set<number>>();
  private changes = 0;

  /** Grows with every new fact, so a planner knows when its plan is out of date. */
  get version(): number {
    return this.changes;
  }

  /** Protocol addresses a read of one tag alone was refused for. */
  addIllegal(table: TagTable, address: number, count: number): void {
    const set = setOf(this.illegal, table);
    for (let a = address; a < address + count; a++) {
      if (!set.has(a)) {
        set.add(a);
        this.changes++;
      }
    }
  }

  /**
   * Tags starting below `address` and tags starting at or above it read well apart but not
   * together: the hole is between them (unused registers) or the device will not read across.
   */
  addBreak(table: TagTable, address: number): void {
    const set = setOf(this.breaks, table);
    if (set.has(address)) return;
    set.add(address);
    this.changes++;
  }

  /** True when nothing has been learned (or all was forgotten). */
  get empty(): boolean {
    return this.illegal.size === 0 && this.breaks.size === 0;
  }

  /** Forgets everything learned; plans made before are out of date. */
  clear(): void {
    if (this.empty) return;
    this.illegal.clear();
    this.breaks.clear();
    this.changes++;
  }

  /** Whether any of the addresses `from` ≤ a < `to` was refused. */
  anyIllegal(table: TagTable, from: number, to: number): boolean {
    const set = this.illegal.get(table);
    if (set === undefined) return false;
    for (let a = from; a < to; a++) if (set.has(a)) return true;
    return false;
  }

  /** Whether a break b with `from` < b ≤ `to` keeps tags starting at `from` and `to` apart. */
  breakBetween(table: TagTable, from: number, to: number): boolean {
    const set = this.breaks.get(table);
    if (set === undefined) return false;
    for (const b of set) if (b > from && b <= to) return true;
    return false;
  }

  /** For health output: what was learned, per table. */
  summary(): Record<string, { illegal: number[]; breaks: number[] }> {
    const out: Record<string, { illegal: number[]; breaks: number[] }> = {};
    for (const table of new Set([...this.illegal.keys(), ...this.breaks.keys()])) {
      out[table] = {
        illegal: [...(this.illegal.get(table) ?? [])].sort((a, b) => a - b),
        breaks: [...(this.breaks.get(table) ?? [])].sort((a, b) => a - b),
      };
    }
    return out;
  }
}

function setOf(map: Map<TagTable, Set<number>>, table: TagTable): Set<number> {
  let set = map.get(table);
  if (set === undefined) {
    set = new Set();
    map.set(table, set);
  }
  return set;
}
