// Turning register blocks into tag values, and the PDUs of the four read functions.
// Byte orders follow Telegraf's names, with A the most significant byte of the value:
// ABCD big-endian; DCBA fully reversed; BADC bytes swapped within each register;
// CDAB registers swapped, bytes big-endian within each.

import type { ByteOrder, TagConfig, TagTable, TagType } from "../../config/schema.js";
import type { Value } from "../../core/reading.js";
import { ModbusResponseError } from "./errors.js";
import { FunctionCode } from "./transport.js";

/** The protocol's caps on a single read (Modbus Application Protocol v1.1b3, 6.1-6.4). */
export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;

/** Wire position of each byte of the big-endian value ABCD, per order; each is its own inverse. */
const PERMUTATIONS: Record<ByteOrder, { 2: number[]; 4: number[] }> = {
  ABCD: { 2: [0, 1], 4: [0, 1, 2, 3] },
  CDAB: { 2: [0, 1], 4: [2, 3, 0, 1] },
  BADC: { 2: [1, 0], 4: [1, 0, 3, 2] },
  DCBA: { 2: [1, 0], 4: [3, 2, 1, 0] },
};

export type NumericType = Exclude<TagType, "bool">;

/** Registers (or bits, for bool) a value of this type occupies. */
export function registerCount(type: TagType): number {
  return type === "int32" || type === "uint32" || type === "float32" ? 2 : 1;
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

function reorder(bytes: Buffer, order: ByteOrder): Buffer {
  const perm = bytes.length === 4 ? PERMUTATIONS[order][4] : PERMUTATIONS[order][2];
  return Buffer.from(perm.map((i) => bytes[i] ?? 0));
}

/** The raw value (before scale and offset) at `registerOffset` registers into `block`. */
export function decodeRaw(
  type: NumericType,
  order: ByteOrder,
  block: Buffer,
  registerOffset: number,
): number {
  const start = registerOffset * 2;
  const end = start + registerCount(type) * 2;
  if (start < 0 || end > block.length) {
    throw new RangeError(`registers ${registerOffset}+${end / 2 - registerOffset} outside block`);
  }
  const be = reorder(block.subarray(start, end), order);
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
    default:
      throw new RangeError(`type ${type} is not decoded by decodeRaw`);
  }
}

/** Bit `bitOffset` of a coil or discrete-input block: least significant bit first. */
export function decodeBit(block: Buffer, bitOffset: number): boolean {
  const byte = block[bitOffset >> 3];
  if (byte === undefined || bitOffset < 0) throw new RangeError(`bit ${bitOffset} outside block`);
  return ((byte >> (bitOffset & 7)) & 1) === 1;
}

/**
 * A tag's value from the block its read request returned; `offset` counts registers (or bits)
 * from the start of the block. Numerics get `value * scale + offset`; NaN passes through.
 */
export function decodeTag(
  tag: Pick<TagConfig, "table" | "type" | "order" | "scale" | "offset">,
  block: Buffer,
  offset: number,
): Value {
  if (isBitTable(tag.table)) return decodeBit(block, offset);
  if (tag.type === "bool") throw new RangeError(`type bool needs a coil or discrete input`);
  const raw = decodeRaw(tag.type, tag.order, block, offset);
  return raw * tag.scale + tag.offset;
}

/** The wire bytes of a raw value; for tests and simulators. Integers must be in range. */
export function encodeRaw(type: NumericType, order: ByteOrder, value: number): Buffer {
  const be = Buffer.alloc(registerCount(type) * 2);
  switch (type) {
    case "int16":
      be.writeInt16BE(value);
      break;
    case "uint16":
      be.writeUInt16BE(value);
      break;
    case "int32":
      be.writeInt32BE(value);
      break;
    case "uint32":
      be.writeUInt32BE(value);
      break;
    case "float32":
      be.writeFloatBE(value);
      break;
  }
  return reorder(be, order);
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
