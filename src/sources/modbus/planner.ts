// Turning a group's tags into as few read requests as the device's caps allow. Each table is
// planned on its own: tags sorted by address, neighbours merged while the unused registers
// between them stay within maxGap, the whole span within the per-read cap, and the span clear
// of what the device refused before (see address-holes.ts).
//
// LIMITATION: the greedy merge gives the fewest requests when tags do not overlap; with
// overlapping tags (one register read as two types) it may plan one request more than needed.
// A dynamic-programming pass over the sorted tags would lift it.

import type { TagConfig, TagTable } from "../../config/schema.js";
import { TABLES } from "../../config/schema.js";
import type { AddressHoles } from "./address-holes.js";
import { functionCodeFor, isBitTable, registerCount } from "./codec.js";

export interface PlanLimits {
  maxRegistersPerRead: number;
  maxBitsPerRead: number;
  maxGap: number;
  /** 1: config addresses count from 1, protocol address = address - 1. Default 0. */
  addressBase?: number;
  /** One tag per request, never merged. */
  singleRegisterReads?: boolean;
}

export interface PlannedTag {
  tag: TagConfig;
  /** Protocol address of the tag's first register (or bit). */
  address: number;
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
  return isBitTable(tag.table) ? 1 : registerCount(tag.type, tag.length);
}

/**
 * The read requests for a set of tags, ordered by table then address. Throws a RangeError
 * naming the tag when one tag alone does not fit the cap, lies below the address base or runs
 * past address 65535. `holes` are what the device refused before: a merged read never spans
 * them, and a tag that sits on a refused address is read alone.
 */
export function planReads(
  tags: readonly TagConfig[],
  limits: PlanLimits,
  holes?: AddressHoles,
): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLES) {
    const ofTable = tags.filter((t) => t.table === table);
    if (ofTable.length > 0) requests.push(...planTable(table, ofTable, limits, holes));
  }
  return requests;
}

function planTable(
  table: TagTable,
  tags: TagConfig[],
  limits: PlanLimits,
  holes: AddressHoles | undefined,
): ReadRequest[] {
  const cap = isBitTable(table) ? limits.maxBitsPerRead : limits.maxRegistersPerRead;
  const planned = tags
    .map((tag) => ({ tag, address: protocolAddress(tag, limits.addressBase ?? 0), offset: 0 }))
    .sort((a, b) => a.address - b.address || tagSpan(a.tag) - tagSpan(b.tag));
  const requests: ReadRequest[] = [];
  let current: ReadRequest | undefined;

  for (const p of planned) {
    const span = tagSpan(p.tag);
    checkFits(p, span, cap);
    const alone =
      limits.singleRegisterReads || holes?.anyIllegal(table, p.address, p.address + span);
    if (!alone && current !== undefined && canMerge(current, p, span, cap, limits, holes)) {
      const end = Math.max(current.address + current.quantity, p.address + span);
      current.quantity = end - current.address;
      current.tags.push({ ...p, offset: p.address - current.address });
      continue;
    }
    const request = requestFor(table, [p]);
    requests.push(request);
    current = alone ? undefined : request;
  }
  return requests;
}

function canMerge(
  current: ReadRequest,
  p: PlannedTag,
  span: number,
  cap: number,
  limits: PlanLimits,
  holes: AddressHoles | undefined,
): boolean {
  const end = current.address + current.quantity;
  if (p.address - end > limits.maxGap) return false;
  if (Math.max(end, p.address + span) - current.address > cap) return false;
  if (holes === undefined) return true;
  return (
    !holes.anyIllegal(current.table, end, p.address) &&
    !holes.breakBetween(current.table, current.address, p.address)
  );
}

/** One request spanning exactly the given tags of one table, with offsets recomputed. */
export function requestFor(table: TagTable, tags: readonly PlannedTag[]): ReadRequest {
  const start = Math.min(...tags.map((p) => p.address));
  const end = Math.max(...tags.map((p) => p.address + tagSpan(p.tag)));
  return {
    table,
    functionCode: functionCodeFor(table),
    address: start,
    quantity: end - start,
    tags: tags.map((p) => ({ ...p, offset: p.address - start })),
  };
}

/**
 * The two halves of a request of several tags, each spanning only its own tags. The cut falls
 * where the start address changes, so tags at one address stay together when they can.
 */
export function splitRequest(request: ReadRequest): [ReadRequest, ReadRequest] {
  const tags = [...request.tags].sort((a, b) => a.address - b.address);
  if (tags.length < 2) throw new RangeError("a request of one tag cannot be split");
  const middle = Math.floor(tags.length / 2);
  let cut = middle;
  // Move the cut to the nearest change of start address, else keep the middle.
  for (let d = 0; d < tags.length; d++) {
    const up = middle + d;
    const down = middle - d;
    if (up < tags.length && tags[up]?.address !== tags[up - 1]?.address) {
      cut = up;
      break;
    }
    if (down > 0 && tags[down]?.address !== tags[down - 1]?.address) {
      cut = down;
      break;
    }
  }
  return [
    requestFor(request.table, tags.slice(0, cut)),
    requestFor(request.table, tags.slice(cut)),
  ];
}

function protocolAddress(tag: TagConfig, base: number): number {
  const address = tag.address - base;
  if (address < 0) {
    throw new RangeError(
      `tag ${tag.name}: address ${tag.address} is below the device's addressBase ${base}`,
    );
  }
  return address;
}

function checkFits(p: PlannedTag, span: number, cap: number): void {
  const { tag } = p;
  if (span > cap) {
    throw new RangeError(`tag ${tag.name}: a ${tag.type} needs ${span} registers, cap is ${cap}`);
  }
  if (p.address + span > 0x10000) {
    throw new RangeError(`tag ${tag.name}: a ${tag.type} at ${tag.address} runs past 65535`);
  }
}
