// Modbus RTU framing: CRC-16/MODBUS, request frames, and a response parser that finds the
// reply of the unit in flight in a byte stream that may carry noise, a late reply of
// another unit or the tail of a frame cut off by a glitch. RTU has no transaction id and
// no length field, so the parser works out each frame's length from its function code
// and accepts only a frame whose unit, function and CRC all fit the request.

/** Largest RTU frame (address + PDU of 253 bytes + CRC). */
export const MAX_RTU_FRAME = 256;
/** Unit + function + exception code + CRC. */
const EXCEPTION_FRAME = 5;

/** CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF) of `bytes`. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    }
  }
  return crc;
}

/** Unit + function + payload + CRC, the CRC low byte first as the line carries it. */
export function encodeRtuFrame(unitId: number, functionCode: number, payload: Buffer): Buffer {
  const frame = Buffer.alloc(2 + payload.length + 2);
  frame.writeUInt8(unitId, 0);
  frame.writeUInt8(functionCode, 1);
  payload.copy(frame, 2);
  const body = frame.subarray(0, frame.length - 2);
  frame.writeUInt16LE(crc16Modbus(body), frame.length - 2);
  return frame;
}

/** True when the last two bytes of `frame` are the CRC of the others. */
export function hasValidCrc(frame: Buffer): boolean {
  if (frame.length < 4) return false;
  const body = frame.subarray(0, frame.length - 2);
  return crc16Modbus(body) === frame.readUInt16LE(frame.length - 2);
}

/**
 * Length of a normal (not exception) response to `functionCode`: a number, "byteCount" when
 * the length follows from the byte count at offset 2, or undefined for a function whose
 * response this parser cannot delimit.
 */
export function responseShape(functionCode: number): number | "byteCount" | undefined {
  switch (functionCode) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 23: // read/write multiple registers answers like a read
      return "byteCount";
    case 5:
    case 6:
    case 15:
    case 16:
      return 8; // address and value (or quantity) echoed
    case 22:
      return 10; // mask write echoes address, AND mask, OR mask
    default:
      return undefined;
  }
}

export interface RtuResponse {
  unitId: number;
  /** As received: the function asked for, or it | 0x80 for an exception. */
  functionCode: number;
  /** PDU bytes after the function code, without the CRC. */
  payload: Buffer;
}

type Candidate =
  | { kind: "none" }
  | { kind: "short" }
  | { kind: "frame"; length: number; ok: boolean };

/**
 * Collects the bytes of one reply. `expect()` names the unit and function in flight and
 * clears what came before; `push()` returns the reply once a valid frame is complete.
 * Bytes that cannot start that frame are dropped and counted, one at a time, so the parser
 * resynchronises on the first valid frame however much noise precedes it.
 */
export class RtuResponseParser {
  crcErrors = 0;
  garbageBytes = 0;
  private pending: Buffer = Buffer.alloc(0);
  private unitId = -1;
  private functionCode = -1;

  /** Starts waiting for the reply of `unitId` to `functionCode`; earlier bytes are garbage. */
  expect(unitId: number, functionCode: number): void {
    this.clear();
    this.unitId = unitId;
    this.functionCode = functionCode;
  }

  /** Stops waiting (timeout, reply taken): whatever arrives until the next expect() is garbage. */
  clear(): void {
    this.garbageBytes += this.pending.length;
    this.pending = Buffer.alloc(0);
    this.unitId = -1;
    this.functionCode = -1;
  }

  /** Adds received bytes; returns the reply when this chunk completed it. */
  push(chunk: Buffer): RtuResponse | undefined {
    if (this.unitId < 0) {
      this.garbageBytes += chunk.length;
      return undefined;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const found = this.scanFront() ?? this.scanAhead();
    if (found !== undefined) this.unitId = -1;
    return found;
  }

  /** Drops bytes from the front until a frame, a frame still arriving, or nothing is left. */
  private scanFront(): RtuResponse | undefined {
    while (this.pending.length > 0) {
      const c = this.candidateAt(0);
      if (c.kind === "short") return undefined;
      if (c.kind === "frame" && c.ok) return this.take(0, c.length);
      if (c.kind === "frame") this.crcErrors++;
      this.drop(1);
    }
    return undefined;
  }

  // A noise byte that happens to equal the unit and function can announce a byte count the
  // line never delivers. Without looking past it the real reply behind it would be lost.
  private scanAhead(): RtuResponse | undefined {
    for (let at = 1; at + EXCEPTION_FRAME <= this.pending.length; at++) {
      const c = this.candidateAt(at);
      if (c.kind === "frame" && c.ok) {
        this.drop(at);
        return this.take(0, c.length);
      }
    }
    if (this.pending.length > 2 * MAX_RTU_FRAME) this.drop(this.pending.length - MAX_RTU_FRAME);
    return undefined;
  }

  private candidateAt(at: number): Candidate {
    const bytes = this.pending;
    if (bytes.length - at < 2) return { kind: "short" };
    if (bytes[at] !== this.unitId) return { kind: "none" };
    const fc = bytes[at + 1];
    let length: number;
    if (fc === (this.functionCode | 0x80)) {
      length = EXCEPTION_FRAME;
    } else if (fc !== this.functionCode) {
      return { kind: "none" };
    } else {
      const shape = responseShape(this.functionCode);
      if (shape === undefined) return { kind: "none" };
      if (shape !== "byteCount") length = shape;
      else if (bytes.length - at < 3) return { kind: "short" };
      else length = 5 + (bytes[at + 2] ?? 0);
      if (length > MAX_RTU_FRAME) return { kind: "none" };
    }
    if (bytes.length - at < length) return { kind: "short" };
    return { kind: "frame", length, ok: hasValidCrc(bytes.subarray(at, at + length)) };
  }

  private take(at: number, length: number): RtuResponse {
    const frame = this.pending.subarray(at, at + length);
    this.pending = this.pending.subarray(at + length);
    return {
      unitId: frame[0] ?? 0,
      functionCode: frame[1] ?? 0,
      payload: Buffer.from(frame.subarray(2, length - 2)),
    };
  }

  private drop(count: number): void {
    this.garbageBytes += count;
    this.pending = this.pending.subarray(count);
  }
}
