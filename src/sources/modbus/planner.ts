// Turning a group's tags into as few read requests as the device's caps allow. Each table is
// planned on its own: tags sorted by address, neighbours merged while the unused registers
// between them stay within maxGap and the whole span within the per-read cap.
//
// LIMITATION: the greedy merge gives the fewest requests when tags do not overlap; with
// overlapping tags (one register read as two types) it may plan one request more than needed.
// A dynamic-programming pass over the sorted tags would lift it.

import type { TagConfig, TagTable } from "../../config/schema.js";
import { TABLES } from "../../config/schema.js";
import { functionCodeFor, isBitTable, registerCount } from "./codec.js";

export interface PlanLimits {
  maxRegistersPerRead: number;
  maxBitsPerRead: number;
  maxGap: number;
}

export interface PlannedTag {
  tag: TagConfig;
  /** Registers (or bits) from the request's start address to the tag's first one. */
  offset: number;
}

export interface ReadRequest {
  table: TagTable;
  functionCode: number;
  address: number;
  quantity: number;
  tags: PlannedTag[];
}

/** Registers or bits a tag occupies in its table. */
export function tagSpan(tag: TagConfig): number {
  return isBitTable(tag.table) ? 1 : registerCount(tag.type);
}

/**
 * The read requests for a set of tags, ordered by table then address. Throws a RangeError
 * naming the tag when one tag alone does not fit the cap or runs past address 65535.
 */
export function planReads(tags: readonly TagConfig[], limits: PlanLimits): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLES) {
    const ofTable = tags.filter((t) => t.table === table);
    if (ofTable.length > 0) requests.push(...planTable(table, ofTable, limits));
  }
  return requests;
}

function planTable(table: TagTable, tags: TagConfig[], limits: PlanLimits): ReadRequest[] {
  const cap = isBitTable(table) ? limits.maxBitsPerRead : limits.maxRegistersPerRead;
  const sorted = [...tags].sort((a, b) => a.address - b.address || tagSpan(a) - tagSpan(b));
  const requests: ReadRequest[] = [];
  let current: ReadRequest | undefined;

  for (const tag of sorted) {
    const span = tagSpan(tag);
    checkFits(tag, span, cap);
    if (current !== undefined) {
      const end = current.address + current.quantity;
      const gap = tag.address - end;
      const merged = Math.max(end, tag.address + span) - current.address;
      if (gap <= limits.maxGap && merged <= cap) {
        current.quantity = merged;
        current.tags.push({ tag, offset: tag.address - current.address });
        continue;
      }
    }
    current = {
      table,
      functionCode: functionCodeFor(table),
      address: tag.address,
      quantity: span,
      tags: [{ tag, offset: 0 }],
    };
    requests.push(current);
  }
  return requests;
}

function checkFits(tag: TagConfig, span: number, cap: number): void {
  if (span > cap) {
    throw new RangeError(`tag ${tag.name}: a ${tag.type} needs ${span} registers, cap is ${cap}`);
  }
  if (tag.address + span > 0x10000) {
    throw new RangeError(`tag ${tag.name}: a ${tag.type} at ${tag.address} runs past 65535`);
  }
}
