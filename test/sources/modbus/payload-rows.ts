// What the pymodbus peers hold, as the rows handed to pymodbus's BinaryPayloadBuilder, and
// the values plantgate must read from them: never bytes from our encoder. Shared by the TCP
// and RTU tests against pymodbus.

import { expect } from "vitest";
import type { Reading, Value } from "../../../src/core/reading.js";

export type Table = "holdingRegister" | "inputRegister" | "coil" | "discreteInput";
export type Order = "ABCD" | "CDAB" | "BADC" | "DCBA";
export type Row = [string, Table, number, string, Order, number | boolean | string];

// What pymodbus writes: 64-bit integers as decimal strings (exact above 2^53).
export const ROWS: Row[] = [
  ["f_abcd", "holdingRegister", 0, "float32", "ABCD", 21.5],
  ["f_cdab", "holdingRegister", 2, "float32", "CDAB", -3.25],
  ["f_badc", "holdingRegister", 4, "float32", "BADC", 1234.5],
  ["f_dcba", "holdingRegister", 6, "float32", "DCBA", 0.15625],
  ["u16_abcd", "holdingRegister", 8, "uint16", "ABCD", 65000],
  ["u16_badc", "holdingRegister", 9, "uint16", "BADC", 0x1234],
  // A gap of unused registers the planner reads across.
  ["i16_abcd", "holdingRegister", 15, "int16", "ABCD", -1234],
  ["i16_dcba", "holdingRegister", 16, "int16", "DCBA", -2],
  ["u16_cdab", "holdingRegister", 17, "uint16", "CDAB", 258],
  ["i16_badc", "holdingRegister", 18, "int16", "BADC", -32768],
  ["d_abcd", "holdingRegister", 20, "float64", "ABCD", 1234.5678],
  ["d_cdab", "holdingRegister", 24, "float64", "CDAB", -2.5e-300],
  ["d_badc", "holdingRegister", 28, "float64", "BADC", 9007199254740994],
  ["d_dcba", "holdingRegister", 32, "float64", "DCBA", -0.1],
  ["i64_abcd", "holdingRegister", 36, "int64", "ABCD", "9223372036854775807"],
  ["i64_cdab", "holdingRegister", 40, "int64", "CDAB", "-9223372036854775808"],
  ["i64_badc", "holdingRegister", 44, "int64", "BADC", "9007199254740993"],
  ["i64_dcba", "holdingRegister", 48, "int64", "DCBA", "-9007199254740993"],
  ["u64_abcd", "holdingRegister", 52, "uint64", "ABCD", "18446744073709551615"],
  ["u64_cdab", "holdingRegister", 56, "uint64", "CDAB", "9007199254740993"],
  ["u64_badc", "holdingRegister", 60, "uint64", "BADC", "72623859790382856"],
  ["u64_dcba", "holdingRegister", 64, "uint64", "DCBA", "1"],
  ["s_abcd", "holdingRegister", 70, "string", "ABCD", "PUMP-7"],
  ["s_badc", "holdingRegister", 75, "string", "BADC", "ODD"],
  ["s_dcba", "holdingRegister", 79, "string", "DCBA", "SN42  "],
  ["s_cdab", "holdingRegister", 84, "string", "CDAB", "XY"],
  ["flags", "holdingRegister", 90, "uint16", "ABCD", 0x8009],
  ["flags_badc", "holdingRegister", 91, "uint16", "BADC", 0x0102],
  ["nan32", "holdingRegister", 92, "float32", "ABCD", "nan"],
  ["nan64", "holdingRegister", 94, "float64", "CDAB", "nan"],
  // The two 16-bit combinations left: CDAB is ABCD for one register, DCBA is BADC.
  ["i16_cdab", "holdingRegister", 98, "int16", "CDAB", -30000],
  ["u16_dcba", "holdingRegister", 99, "uint16", "DCBA", 0xabcd],
  // 112 is the hole: the server's map has no register there.
  ["below_hole", "holdingRegister", 110, "uint16", "ABCD", 110],
  ["next_below", "holdingRegister", 111, "int16", "ABCD", -111],
  ["above_hole", "holdingRegister", 113, "uint32", "CDAB", 113113],
  ["i32_abcd", "inputRegister", 0, "int32", "ABCD", -123456789],
  ["i32_cdab", "inputRegister", 2, "int32", "CDAB", 987654321],
  ["i32_badc", "inputRegister", 4, "int32", "BADC", -70000],
  ["i32_dcba", "inputRegister", 6, "int32", "DCBA", 16909060],
  ["u32_cdab", "inputRegister", 8, "uint32", "CDAB", 3000000000],
  ["u32_badc", "inputRegister", 10, "uint32", "BADC", 4294967295],
  ["u32_abcd", "inputRegister", 12, "uint32", "ABCD", 1],
  ["u32_dcba", "inputRegister", 14, "uint32", "DCBA", 65536],
  ["run", "coil", 5, "bool", "ABCD", true],
  ["stopped", "coil", 6, "bool", "ABCD", false],
  ["door", "discreteInput", 9, "bool", "ABCD", true],
  ["closed", "discreteInput", 10, "bool", "ABCD", false],
  // A map wider than one read: 100..360 in steps of 10, read in several requests of ≤ 125.
  ...Array.from({ length: 27 }, (_, i): Row => {
    return [`wide${i}`, "inputRegister", 100 + 10 * i, "uint16", "ABCD", 7 * i];
  }),
];

export const HOLES = [["holdingRegister", 112]];

export interface Check {
  tag: Record<string, unknown> & { name: string };
  expected: Value | "nan" | "exception 2";
}

export function expected(row: Row): Check["expected"] {
  const [, , , type, , value] = row;
  if (value === "nan") return "nan";
  if (type === "int64" || type === "uint64") return BigInt(value as string);
  if (type === "float32") return Math.fround(value as number);
  if (type === "string") return (value as string).trimEnd();
  return value;
}

export const CHECKS: Check[] = [
  ...ROWS.map((row): Check => ({ tag: tagOf(row), expected: expected(row) })),
  // Bits of the register pymodbus wrote as 0x8009, and of 0x0102 written BADC.
  ...[0, 1, 3, 8, 15].map((bit) => ({
    tag: { name: `flag${bit}`, address: 90, type: "bit", bit },
    expected: ((0x8009 >> bit) & 1) === 1,
  })),
  ...[1, 8].map((bit) => ({
    tag: { name: `flagb${bit}`, address: 91, type: "bit", bit, order: "BADC" },
    expected: ((0x0102 >> bit) & 1) === 1,
  })),
  { tag: { name: "in_hole", address: 112 }, expected: "exception 2" },
];

/** A tag the way the config has it, from a row: strings get one register to spare. */
export function tagOf(row: Row): Check["tag"] {
  const [name, table, address, type, order, value] = row;
  // One register more than the text needs: the NULs after it must be trimmed.
  const length = type === "string" ? Math.ceil(String(value).length / 2) + 1 : undefined;
  return { name, table, address, type, order, length };
}

/** The row as rtu-server.py and pymodbus-server.py take it. */
export function entryOf([name, table, address, type, order, value]: Row) {
  return { name, table, address, type, order, value };
}

/** Every check's latest reading of `device` holds the value pymodbus was given. */
export function expectAsWritten(
  checks: readonly Check[],
  latest: ReadonlyMap<string, Reading>,
  device: string,
): void {
  for (const { tag, expected } of checks) {
    const reading = latest.get(`${device}.${tag.name}`);
    const what = `${device}.${tag.name}`;
    if (expected === "nan") {
      // A NaN float is an instrument without a value: stored as a bad reading, not a number.
      expect(reading, what).toMatchObject({ value: null, quality: { reason: "decode" } });
    } else if (expected === "exception 2") {
      const quality = { status: "bad", reason: "exception", exceptionCode: 2 };
      expect(reading, what).toMatchObject({ value: null, quality });
    } else {
      expect(reading, what).toMatchObject({ value: expected, quality: { status: "good" } });
    }
  }
}

export async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ORDER_LIST: Order[] = ["ABCD", "CDAB", "BADC", "DCBA"];
const TYPE_WIDTHS = [
  ["int16", 1],
  ["uint16", 1],
  ["int32", 2],
  ["uint32", 2],
  ["int64", 4],
  ["uint64", 4],
  ["float32", 2],
  ["float64", 4],
] as const;

/** A value for each type that differs by unit and order, so no mix-up can go unseen. */
function busValue(type: string, unit: number, o: number): number | string {
  const big = 2n ** 53n + 1n + BigInt(10 * unit + o);
  switch (type) {
    case "int16":
      return -(1000 * unit + 10 * o + 1);
    case "uint16":
      return 60000 + 100 * unit + o;
    case "int32":
      return -(100_000_000 * unit + 1000 * o + 7);
    case "uint32":
      return 4_000_000_000 + 1000 * unit + o;
    case "int64":
      return String(-big);
    case "uint64":
      return String(2n ** 63n + big);
    case "float32":
      return -(unit + o / 4 + 0.5);
    default:
      return (unit * 1000.125 + o) * (o % 2 === 1 ? -1 : 1);
  }
}

/**
 * What one unit of the RTU bus holds: every numeric type in every order (ABCD and CDAB in
 * holding registers, BADC and DCBA in input registers), negative values, 64-bit integers
 * beyond 2^53, NaN in both float widths, a string and two coils.
 */
export function busRows(unit: number): Row[] {
  const rows: Row[] = [];
  const next = { holdingRegister: 0, inputRegister: 0 };
  ORDER_LIST.forEach((order, o) => {
    const table = o < 2 ? "holdingRegister" : "inputRegister";
    for (const [type, width] of TYPE_WIDTHS) {
      rows.push([`${type}_${order}`, table, next[table], type, order, busValue(type, unit, o)]);
      next[table] += width;
    }
  });
  const at = next.holdingRegister;
  rows.push(["nan32", "holdingRegister", at, "float32", "CDAB", "nan"]);
  rows.push(["nan64", "holdingRegister", at + 2, "float64", "DCBA", "nan"]);
  rows.push(["name", "holdingRegister", at + 6, "string", "ABCD", `UNIT-${unit}`]);
  rows.push(["run", "coil", 0, "bool", "ABCD", unit % 2 === 1]);
  rows.push(["stop", "coil", 1, "bool", "ABCD", unit % 2 === 0]);
  return rows;
}
