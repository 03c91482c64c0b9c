// Modbus TCP framing: the MBAP header (transaction id, protocol id, length, unit id) before
// each PDU, and a parser that cuts a TCP byte stream into frames whatever the segment
// boundaries: several frames in one segment, or one frame over several.

import { ModbusResponseError } from "./errors.js";
import type { PduRequest } from "./transport.js";

/** MBAP header: transaction id, protocol id, length, unit id. */
export const MBAP_LENGTH = 7;
/** Unit id + the largest PDU (253 bytes). */
const MAX_MBAP_LENGTH_FIELD = 254;

export interface MbapFrame {
  transactionId: number;
  unitId: number;
  functionCode: number;
  /** PDU bytes after the function code. */
  payload: Buffer;
}

/** Splits a TCP byte stream into MBAP frames, whatever the segment boundaries. */
export class MbapParser {
  private pending: Buffer = Buffer.alloc(0);

  /** Frames completed by this chunk. Throws ModbusResponseError when framing is lost. */
  push(chunk: Buffer): MbapFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: MbapFrame[] = [];
    while (this.pending.length >= MBAP_LENGTH) {
      const protocolId = this.pending.readUInt16BE(2);
      const length = this.pending.readUInt16BE(4);
      if (protocolId !== 0 || length < 2 || length > MAX_MBAP_LENGTH_FIELD) {
        this.pending = Buffer.alloc(0);
        throw new ModbusResponseError(`bad MBAP header: protocol ${protocolId} length ${length}`);
      }
      const total = 6 + length;
      if (this.pending.length < total) break;
      frames.push({
        transactionId: this.pending.readUInt16BE(0),
        unitId: this.pending.readUInt8(6),
        functionCode: this.pending.readUInt8(7),
        payload: Buffer.from(this.pending.subarray(8, total)),
      });
      this.pending = this.pending.subarray(total);
    }
    return frames;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}

/** The MBAP frame of a request. */
export function encodeMbapFrame(transactionId: number, req: PduRequest): Buffer {
  const frame = Buffer.alloc(MBAP_LENGTH + 1 + req.payload.length);
  frame.writeUInt16BE(transactionId, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt16BE(2 + req.payload.length, 4);
  frame.writeUInt8(req.unitId, 6);
  frame.writeUInt8(req.functionCode, 7);
  req.payload.copy(frame, 8);
  return frame;
}
