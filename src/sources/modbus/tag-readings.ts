// Readings from what a read request brought back: decoded values, or one bad reading per tag
// with the quality the error calls for.

import type { Quality, Reading } from "../../core/reading.js";
import { decodeTag, parseReadResponse } from "./codec.js";
import {
  isGatewayNoAnswer,
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from "./errors.js";
import type { PlannedTag, ReadRequest } from "./planner.js";

export type BadQuality = Extract<Quality, { status: "bad" }>;

/**
 * No answer from the unit itself: a timeout, a lost connection, or a gateway's exception 10
 * or 11 saying the device behind it is not there. Such a failure counts against the unit's
 * up/down and degrade state; any other exception is an answer from a unit that is there.
 */
export function isUnreachable(err: unknown): boolean {
  return (
    err instanceof ModbusTimeoutError ||
    err instanceof ModbusDisconnectedError ||
    isGatewayNoAnswer(err)
  );
}

export function qualityOf(err: unknown): BadQuality {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof ModbusTimeoutError) return { status: "bad", reason: "timeout", detail };
  if (err instanceof ModbusDisconnectedError) {
    return { status: "bad", reason: "disconnected", detail };
  }
  if (err instanceof ModbusExceptionError) {
    return { status: "bad", reason: "exception", exceptionCode: err.exceptionCode, detail };
  }
  // A ModbusResponseError, or anything unforeseen: the answer could not be turned into values.
  return { status: "bad", reason: "decode", detail };
}

export function badReadings(
  device: string,
  tags: readonly PlannedTag[],
  ts: number,
  quality: Quality,
): Reading[] {
  return tags.map((p) => ({ tag: `${device}.${p.tag.name}`, ts, value: null, quality }));
}

/** One reading per tag of `request` from its response payload; a bad length spoils them all. */
export function decodeResponse(
  device: string,
  request: ReadRequest,
  response: Buffer,
  ts: number,
): Reading[] {
  let block: Buffer;
  try {
    block = parseReadResponse(request.functionCode, request.quantity, response);
  } catch (err) {
    return badReadings(device, request.tags, ts, qualityOf(err));
  }
  return request.tags.map((p) => decodeReading(device, p, block, ts));
}

// NaN or infinity from a float register usually means the instrument has no value (sensor
// fault, not ready); it is stored as a bad reading rather than a number the model would eat.
function decodeReading(device: string, planned: PlannedTag, block: Buffer, ts: number): Reading {
  const tag = `${device}.${planned.tag.name}`;
  try {
    const value = decodeTag(planned.tag, block, planned.offset);
    if (typeof value === "number" && !Number.isFinite(value)) {
      const detail = `not a finite number (${value})`;
      return { tag, ts, value: null, quality: { status: "bad", reason: "decode", detail } };
    }
    return { tag, ts, value, quality: { status: "good" } };
  } catch (err) {
    const detail = (err as Error).message;
    return { tag, ts, value: null, quality: { status: "bad", reason: "decode", detail } };
  }
}
