// Reading a planned request, and when the device refuses a merged read with exception 2
// (illegal data address), finding the hole by halves: each half is read on its own,
// recursively, until the tags that read well are separated from those that cannot. What is
// learned goes into AddressHoles, so the next plan reads around the hole at once.

import type { AddressHoles } from "./address-holes.js";
import { ModbusExceptionError } from "./errors.js";
import { type ReadRequest, splitRequest } from "./planner.js";

export type SplitOutcome =
  | { request: ReadRequest; response: Buffer }
  | { request: ReadRequest; error: unknown };

export interface SplitResult {
  /** The requests that settle the tags' readings, in order; a split one gives way to halves. */
  done: SplitOutcome[];
  /** Requests not sent because an earlier one failed with an error `stopOn` named. */
  untried: ReadRequest[];
}

export function isIllegalAddress(err: unknown): boolean {
  return err instanceof ModbusExceptionError && err.exceptionCode === 2;
}

/**
 * Sends `request`; on exception 2 to a request of several tags, reads its halves. A tag read
 * alone that is refused marks its addresses illegal; two halves that read well apart but
 * were refused together mark a break between them. Stops at the first error `stopOn` names.
 */
export async function readSplitting(
  request: ReadRequest,
  send: (request: ReadRequest) => Promise<Buffer>,
  holes: AddressHoles,
  stopOn: (err: unknown) => boolean,
): Promise<SplitResult> {
  const result: SplitResult = { done: [], untried: [] };
  await readInto(request, send, holes, stopOn, result);
  return result;
}

/** Resolves true when `request` was read whole, in one response. */
async function readInto(
  request: ReadRequest,
  send: (request: ReadRequest) => Promise<Buffer>,
  holes: AddressHoles,
  stopOn: (err: unknown) => boolean,
  result: SplitResult,
): Promise<boolean> {
  if (stopped(result, stopOn)) {
    result.untried.push(request);
    return false;
  }
  try {
    result.done.push({ request, response: await send(request) });
    return true;
  } catch (error) {
    if (!isIllegalAddress(error)) {
      result.done.push({ request, error });
      return false;
    }
    if (request.tags.length === 1) {
      holes.addIllegal(request.table, request.address, request.quantity);
      result.done.push({ request, error });
      return false;
    }
  }

  const [lower, upper] = splitRequest(request);
  const lowerGood = await readInto(lower, send, holes, stopOn, result);
  const upperGood = await readInto(upper, send, holes, stopOn, result);
  if (lowerGood && upperGood && upper.address > lower.address) {
    holes.addBreak(request.table, upper.address);
  }
  return false;
}

function stopped(result: SplitResult, stopOn: (err: unknown) => boolean): boolean {
  const last = result.done.at(-1);
  return last !== undefined && "error" in last && stopOn(last.error);
}
