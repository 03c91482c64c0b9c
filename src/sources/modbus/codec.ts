// Turning register blocks into tag values, and the PDUs of the four read functions.
// Byte orders follow Telegraf's names, with A the most significant byte of the value, for
// every width: ABCD big-endian bytes and registers; DCBA all bytes reversed; BADC bytes
// swapped within each register; CDAB registers reversed, bytes big-endian within each.

import type { ByteOrder, TagConfig, TagTable, TagType } from "../../config/schema.js";
import type { Value } from "../../core/reading.js";
import { ModbusResponseError } from "./errors.js";
import { FunctionCode } from "./transport.js";

/** The protocol's caps on a single read (Modbus Application Protocol v1.1b3, 6.1-6.4). */
export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;

/** Types decoded as one number (or bigint, for 64-bit integers) from whole registers. */
export type NumericType = Exclude<TagType, "bool" | "bit" | "string">;

const REGISTERS: Record<TagType, number> = {
  bool: 1,
  bit: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
  string: 1,
};

/** Registers (or bits, for bool) a value of this type occupies; a string its `length`. */
export function registerCount(type: TagType, length = 1): number {
  return type === "string" ? length : REGISTERS[type];
}

export function isBitTable(table: TagTable): boolean {
  return table === "coil" || table === "discreteInput";
}

export function functionCodeFor(table: TagTable): number {
  switch (table) {
    case "coil":
      return FunctionCode.readCoils;
    case "discreteInput":
      return FunctionCode.readDiscreteInputs;
    case "holdingRegister":
      return FunctionCode.readHoldingRegisters;
    case "inputRegister":
      return FunctionCode.readInputRegisters;
  }
}

function swapsBytes(order: ByteOrder): boolean {
  return order === "BADC" || order === "DCBA";
}

function reversesRegisters(order: ByteOrder): boolean {
  return order === "CDAB" || order === "DCBA";
}

/**
 * Moves bytes between wire order and big-endian value order. Byte i of the value sits in
 * register i/2, byte i%2 of it; the order may reverse the registers and swap the two bytes
 * within each. Either change is its own inverse, so one function serves both directions.
 */
function reorder(bytes: Buffer, order: ByteOrder): Buffer {
  const registers = bytes.length / 2;
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const register = reversesRegisters(order) ? registers - 1 - (i >> 1) : i >> 1;
    const byte = swapsBytes(order) ? 1 - (i & 1) : i & 1;
    out[register * 2 + byte] = bytes[i] ?? 0;
  }
  return out;
}

function registersAt(block: Buffer, registerOffset: number, count: number): Buffer {
  const start = registerOffset * 2;
  const end = start + count * 2;
  if (start < 0 || end > block.length) {
    throw new RangeError(`registers ${registerOffset}+${count} outside block`);
  }
  return block.subarray(start, end);
}

/** The raw value (before scale and offset) at `registerOffset` registers into `block`. */
export function decodeRaw(
  type: NumericType,
  order: ByteOrder,
  block: Buffer,
  registerOffset: number,
): number | bigint {
  const be = reorder(registersAt(block, registerOffset, registerCount(type)), order);
  switch (type) {
    case "int16":
      return be.readInt16BE(0);
    case "uint16":
      return be.readUInt16BE(0);
    case "int32":
      return be.readInt32BE(0);
    case "uint32":
      return be.readUInt32BE(0);
    case "float32":
      return be.readFloatBE(0);
    case "int64":
      return be.readBigInt64BE(0);
    case "uint64":
      return be.readBigUInt64BE(0);
    case "float64":
      return be.readDoubleBE(0);
  }
}

/** Bit `bitOffset` of a coil or discrete-input block: least significant bit first. */
export function decodeBit(block: Buffer, bitOffset: number): boolean {
  const byte = block[bitOffset >> 3];
  if (byte === undefined || bitOffset < 0) throw new RangeError(`bit ${bitOffset} outside block`);
  return ((byte >> (bitOffset & 7)) & 1) === 1;
}

/**
 * Bit `bit` (0 = least significant) of the register at `registerOffset`. The register is
 * read as a uint16 in the tag's order first, so BADC and DCBA count bits in swapped bytes.
 */
export function decodeRegisterBit(
  block: Buffer,
  registerOffset: number,
  bit: number,
  order: ByteOrder = "ABCD",
): boolean {
  if (!Number.isInteger(bit) || bit < 0 || bit > 15) throw new RangeError(`bit ${bit} not 0..15`);
  const word = decodeRaw("uint16", order, block, registerOffset) as number;
  return ((word >> bit) & 1) === 1;
}

/**
 * `length` registers of ASCII, two characters each, the first character in the high byte
 * (BADC and DCBA: in the low byte). The text ends at the first NUL, as in a C string, since
 * devices often leave stale characters behind it; trailing spaces (padding) are trimmed.
 */
export function decodeString(
  block: Buffer,
  registerOffset: number,
  length: number,
  order: ByteOrder = "ABCD",
): string {
  const wire = registersAt(block, registerOffset, length);
  const bytes = swapsBytes(order) ? Buffer.from(wire).swap16() : wire;
  const nul = bytes.indexOf(0);
  return bytes.toString("latin1", 0, nul < 0 ? bytes.length : nul).trimEnd();
}

type DecodableTag = Pick<TagConfig, "table" | "type" | "order" | "scale" | "offset"> &
  Partial<Pick<TagConfig, "bit" | "length">>;

/**
 * A tag's value from the block its read request returned; `offset` counts registers (or bits)
 * from the start of the block. Numerics get `value * scale + offset`; NaN passes through.
 * A 64-bit integer stays a bigint, exact, unless a scale or offset makes it a number.
 */
export function decodeTag(tag: DecodableTag, block: Buffer, offset: number): Value {
  if (isBitTable(tag.table)) return decodeBit(block, offset);
  switch (tag.type) {
    case "bool":
      throw new RangeError("type bool needs a coil or discrete input");
    case "bit":
      return decodeRegisterBit(block, offset, tag.bit ?? 0, tag.order);
    case "string":
      return decodeString(block, offset, tag.length ?? 1, tag.order);
  }
  const raw = decodeRaw(tag.type, tag.order, block, offset);
  if (typeof raw === "bigint") {
    return tag.scale === 1 && tag.offset === 0 ? raw : Number(raw) * tag.scale + tag.offset;
  }
  return raw * tag.scale + tag.offset;
}

/** The wire bytes of a raw value; for tests and simulators. Integers must be in range. */
export function encodeRaw(type: NumericType, order: ByteOrder, value: number | bigint): Buffer {
  const be = Buffer.alloc(registerCount(type) * 2);
  const n = Number(value);
  switch (type) {
    case "int16":
      be.writeInt16BE(n);
      break;
    case "uint16":
      be.writeUInt16BE(n);
      break;
    case "int32":
      be.writeInt32BE(n);
      break;
    case "uint32":
      be.writeUInt32BE(n);
      break;
    case "float32":
      be.writeFloatBE(n);
      break;
    case "int64":
      be.writeBigInt64BE(BigInt(value));
      break;
    case "uint64":
      be.writeBigUInt64BE(BigInt(value));
      break;
    case "float64":
      be.writeDoubleBE(n);
      break;
  }
  return reorder(be, order);
}

/** The wire bytes of a string tag: NUL-padded to `length` registers. For tests and simulators. */
export function encodeString(text: string, length: number, order: ByteOrder = "ABCD"): Buffer {
  const bytes = Buffer.alloc(length * 2);
  if (bytes.write(text, "latin1") < text.length) {
    throw new RangeError(`"${text}" does not fit ${length} registers`);
  }
  return swapsBytes(order) ? bytes.swap16() : bytes;
}

/** Request payload of functions 1-4: starting address and quantity, both big-endian. */
export function buildReadRequest(functionCode: number, address: number, quantity: number): Buffer {
  const cap = functionCode <= 2 ? MAX_BITS_PER_READ : MAX_REGISTERS_PER_READ;
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > cap) {
    throw new RangeError(`function ${functionCode}: quantity ${quantity} outside 1..${cap}`);
  }
  if (!Number.isInteger(address) || address < 0 || address + quantity > 0x10000) {
    throw new RangeError(`address ${address} + quantity ${quantity} outside 0..65535`);
  }
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(address, 0);
  payload.writeUInt16BE(quantity, 2);
  return payload;
}

/** Data bytes of a read response (byte count first), checked against the quantity asked. */
export function parseReadResponse(fc: number, quantity: number, payload: Buffer): Buffer {
  const expected = fc <= 2 ? Math.ceil(quantity / 8) : quantity * 2;
  const byteCount = payload[0];
  if (byteCount !== expected || payload.length !== expected + 1) {
    throw new ModbusResponseError(
      `function ${fc}: asked for ${quantity}, expected ${expected} data bytes, ` +
        `got byte count ${byteCount ?? "none"} and ${Math.max(payload.length - 1, 0)} bytes`,
    );
  }
  return payload.subarray(1);
}
