// Expected wire bytes come from Python's struct module (through /usr/bin/python3) and from
// constants worked by hand, never from our own encoder.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tagSchema } from "../../../src/config/schema.js";
import {
  buildReadRequest,
  decodeBit,
  decodeRaw,
  decodeRegisterBit,
  decodeString,
  decodeTag,
  encodeRaw,
  encodeString,
  type NumericType,
  parseReadResponse,
  registerCount,
} from "../../../src/sources/modbus/codec.js";
import { ModbusResponseError } from "../../../src/sources/modbus/errors.js";
import { requireOrSkip } from "../../support/data.js";
import { SYSTEM_PYTHON } from "../../support/pymodbus.js";

const ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"] as const;

const VALUES: Record<NumericType, (number | string)[]> = {
  int16: [0, 1, -1, 12345, -12345, -32768, 32767],
  uint16: [0, 1, 0xabcd, 65535],
  int32: [0, -1, 123456789, -123456789, -2147483648, 2147483647, 0x01020304],
  uint32: [0, 0x01020304, 3000000000, 4294967295],
  float32: [1, -1.5, 123.456, -273.15, 1e-30, -0, "nan", "inf", "-inf"],
  // 64-bit integers travel as decimal strings: JSON numbers would round them above 2^53.
  int64: [
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "9007199254740993",
    "-9007199254740993",
    "72623859790382856",
  ],
  uint64: ["0", "1", "9007199254740993", "18446744073709551615", "72623859790382856"],
  float64: [1, -1.5, 123.456, -273.15, 1e-300, -0, 2 ** 53 + 2, "nan", "inf", "-inf"],
};

// Each order is built from struct's big- and little-endian packings, independently of ours:
// DCBA is struct's little-endian; CDAB the big-endian registers in reverse; BADC each
// big-endian register packed little-endian.
const PYTHON = `
import json, struct, sys
fmt = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f",
       "int64": "q", "uint64": "Q", "float64": "d"}
out = []
for case in json.loads(sys.stdin.read()):
    t, v = case["type"], case["value"]
    v = float(v) if t.startswith("float") or v in ("nan", "inf", "-inf") else int(v)
    be = struct.pack(">" + fmt[t], v)
    n = len(be) // 2
    regs = struct.unpack(">%dH" % n, be)
    wire = {"ABCD": be, "DCBA": struct.pack("<" + fmt[t], v),
            "CDAB": struct.pack(">%dH" % n, *reversed(regs)),
            "BADC": struct.pack("<%dH" % n, *regs)}
    out.append(dict(case, wire={k: w.hex() for k, w in wire.items()}))
print(json.dumps(out))
`;

interface PyCase {
  type: NumericType;
  value: number | string;
  wire: Record<(typeof ORDERS)[number], string>;
}

function python<T>(script: string, input: unknown): T | undefined {
  const r = spawnSync(SYSTEM_PYTHON, ["-c", script], {
    input: JSON.stringify(input),
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as T;
}

function pythonCases(): PyCase[] | undefined {
  const input = Object.entries(VALUES).flatMap(([type, values]) =>
    values.map((value) => ({ type, value })),
  );
  return python<PyCase[]>(PYTHON, input);
}

function expectedValue(type: NumericType, value: number | string): number | bigint {
  if (type === "int64" || type === "uint64") return BigInt(value);
  if (typeof value === "string") return Number.parseFloat(value.replace("inf", "Infinity"));
  return type === "float32" ? Math.fround(value) : value;
}

const cases = pythonCases();

describe.runIf(requireOrSkip(cases ? undefined : `${SYSTEM_PYTHON} with struct not runnable`))(
  "codec against Python struct",
  () => {
    it("covers every type and order", () => {
      expect(cases?.length).toBe(Object.values(VALUES).flat().length);
    });

    for (const c of cases ?? []) {
      for (const order of ORDERS) {
        it(`decodes ${c.type} ${c.value} in ${order} (${c.wire[order]})`, () => {
          const wire = Buffer.from(c.wire[order], "hex");
          const expected = expectedValue(c.type, c.value);
          expect(decodeRaw(c.type, order, wire, 0)).toBe(expected);

          // The same bytes two registers into a larger block.
          const block = Buffer.concat([Buffer.from("deadbeef", "hex"), wire, Buffer.alloc(2)]);
          expect(decodeRaw(c.type, order, block, 2)).toBe(expected);
        });

        it(`encodes ${c.type} ${c.value} in ${order}`, () => {
          const expected = expectedValue(c.type, c.value);
          expect(encodeRaw(c.type, order, expected).toString("hex")).toBe(c.wire[order]);
        });
      }
    }
  },
);

// Strings and register bits, with their wire bytes from struct too.
const TEXT_PYTHON = `
import json, struct, sys
out = []
for case in json.loads(sys.stdin.read()):
    n = case["length"]
    wire = case["text"].encode("ascii") + bytes(case.get("tail", []))
    wire = wire.ljust(2 * n, b"\\0")
    regs = struct.unpack(">%dH" % n, wire)
    out.append(dict(case, ABCD=wire.hex(), BADC=struct.pack("<%dH" % n, *regs).hex()))
print(json.dumps(out))
`;

interface TextCase {
  text: string;
  length: number;
  tail?: number[];
  expected: string;
  ABCD: string;
  BADC: string;
}

const textCases = python<TextCase[]>(TEXT_PYTHON, [
  { text: "PUMP-7", length: 3, expected: "PUMP-7" },
  { text: "ODD", length: 3, expected: "ODD" },
  { text: "SN 42   ", length: 4, expected: "SN 42" },
  { text: "AB", length: 3, tail: [0, 0x58, 0x59], expected: "AB" },
  { text: "FULLFULL", length: 4, expected: "FULLFULL" },
  { text: "", length: 2, expected: "" },
]);

const BITS_PYTHON = `
import json, struct, sys
print(json.dumps([struct.pack(">H", v).hex() for v in json.loads(sys.stdin.read())]))
`;

const bitWires = python<string[]>(BITS_PYTHON, [0x8001, 0x0100, 0x7ffe]);

describe.runIf(requireOrSkip(textCases ? undefined : `${SYSTEM_PYTHON} not runnable`))(
  "strings and bits against Python struct",
  () => {
    for (const c of textCases ?? []) {
      it(`decodes "${c.text}" in ${c.length} registers in every order`, () => {
        for (const order of ["ABCD", "CDAB"] as const) {
          expect(decodeString(Buffer.from(c.ABCD, "hex"), 0, c.length, order)).toBe(c.expected);
        }
        for (const order of ["BADC", "DCBA"] as const) {
          expect(decodeString(Buffer.from(c.BADC, "hex"), 0, c.length, order)).toBe(c.expected);
        }
        if (c.tail === undefined && c.text === c.expected) {
          expect(encodeString(c.text, c.length).toString("hex")).toBe(c.ABCD);
          expect(encodeString(c.text, c.length, "BADC").toString("hex")).toBe(c.BADC);
        }
        const tag = tagSchema.parse({ name: "s", address: 0, type: "string", length: c.length });
        const block = Buffer.concat([Buffer.alloc(2), Buffer.from(c.ABCD, "hex")]);
        expect(decodeTag(tag, block, 1)).toBe(c.expected);
      });
    }

    it("reads each bit of a register, 0 = least significant", () => {
      const [w8001, w0100, w7ffe] = (bitWires ?? []).map((h) => Buffer.from(h, "hex"));
      const bits = (w: Buffer | undefined, order: "ABCD" | "BADC" = "ABCD") =>
        Array.from({ length: 16 }, (_, i) => (decodeRegisterBit(w!, 0, i, order) ? i : -1)).filter(
          (i) => i >= 0,
        );
      expect(bits(w8001)).toEqual([0, 15]);
      expect(bits(w0100)).toEqual([8]);
      expect(bits(w0100, "BADC")).toEqual([0]);
      expect(bits(w7ffe)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      const tag = tagSchema.parse({ name: "b", address: 0, type: "bit", bit: 8 });
      expect(decodeTag(tag, Buffer.concat([w8001!, w0100!]), 1)).toBe(true);
      expect(decodeTag(tag, Buffer.concat([w8001!, w0100!]), 0)).toBe(false);
      expect(() => decodeRegisterBit(w8001!, 0, 16)).toThrow(RangeError);
    });
  },
);

describe("codec against hand-worked constants", () => {
  // 0x01020304: A=01 B=02 C=03 D=04.
  const int32Wire = { ABCD: "01020304", CDAB: "03040102", BADC: "02010403", DCBA: "04030201" };
  // 1.0f is 3F 80 00 00.
  const floatWire = { ABCD: "3f800000", CDAB: "00003f80", BADC: "803f0000", DCBA: "0000803f" };

  for (const order of ORDERS) {
    it(`reads int32 0x01020304 and float32 1.0 in ${order}`, () => {
      expect(decodeRaw("int32", order, Buffer.from(int32Wire[order], "hex"), 0)).toBe(0x01020304);
      expect(decodeRaw("float32", order, Buffer.from(floatWire[order], "hex"), 0)).toBe(1);
    });
  }

  it("swaps the two bytes of 16-bit types for BADC and DCBA only", () => {
    const wire = Buffer.from("ff38", "hex"); // -200 big-endian
    expect(decodeRaw("int16", "ABCD", wire, 0)).toBe(-200);
    expect(decodeRaw("int16", "CDAB", wire, 0)).toBe(-200);
    expect(decodeRaw("int16", "BADC", wire, 0)).toBe(0x38ff);
    expect(decodeRaw("uint16", "DCBA", wire, 0)).toBe(0x38ff);
    expect(decodeRaw("uint16", "ABCD", wire, 0)).toBe(65336);
  });

  it("decodes NaN as NaN", () => {
    expect(decodeRaw("float32", "ABCD", Buffer.from("7fc00000", "hex"), 0)).toBeNaN();
    expect(decodeRaw("float32", "CDAB", Buffer.from("00007fc0", "hex"), 0)).toBeNaN();
  });

  it("applies scale then offset to numerics", () => {
    const tag = tagSchema.parse({ name: "t", address: 0, type: "int16", scale: 0.1, offset: 5 });
    expect(decodeTag(tag, Buffer.from("ff9c", "hex"), 0)).toBeCloseTo(-5, 12); // -100
    const u32 = tagSchema.parse({ name: "u", address: 0, type: "uint32", order: "CDAB" });
    u32.scale = 2;
    expect(decodeTag(u32, Buffer.from("00010002", "hex"), 0)).toBe(2 * 0x00020001);
  });

  it("rejects a value that runs past the block", () => {
    expect(() => decodeRaw("float32", "ABCD", Buffer.alloc(4), 1)).toThrow(RangeError);
  });

  it("reads bits least significant first and ignores scale on bools", () => {
    const block = Buffer.from([0b0000_0101, 0b1000_0000]);
    expect([0, 1, 2, 3, 8, 15].map((i) => decodeBit(block, i))).toEqual([
      true,
      false,
      true,
      false,
      false,
      true,
    ]);
    const coil = tagSchema.parse({ name: "c", table: "coil", address: 0, type: "bool", scale: 3 });
    expect(decodeTag(coil, block, 2)).toBe(true);
    expect(() => decodeBit(block, 16)).toThrow(RangeError);
  });

  it("counts registers per type", () => {
    const types = ["bool", "bit", "int16", "uint16", "int32", "uint32", "float32"] as const;
    expect(types.map((t) => registerCount(t))).toEqual([1, 1, 1, 1, 2, 2, 2]);
    const wide = ["int64", "uint64", "float64"] as const;
    expect(wide.map((t) => registerCount(t))).toEqual([4, 4, 4]);
    expect(registerCount("string", 7)).toBe(7);
  });

  it("generalizes the four orders to 8 bytes", () => {
    // 0x0102030405060708 in registers 0102 0304 0506 0708.
    const wire = {
      ABCD: "0102030405060708",
      CDAB: "0708050603040102",
      BADC: "0201040306050807",
      DCBA: "0807060504030201",
    };
    for (const order of ORDERS) {
      const bytes = Buffer.from(wire[order], "hex");
      expect(decodeRaw("uint64", order, bytes, 0)).toBe(0x0102030405060708n);
      expect(encodeRaw("int64", order, 0x0102030405060708n).toString("hex")).toBe(wire[order]);
    }
  });

  it("keeps 64-bit integers exact unless a scale or offset applies", () => {
    const wire = Buffer.from("7fffffffffffffff", "hex");
    const tag = tagSchema.parse({ name: "e", address: 0, type: "int64" });
    expect(decodeTag(tag, wire, 0)).toBe(9223372036854775807n);
    expect(decodeTag({ ...tag, scale: 0.001 }, wire, 0)).toBe(2 ** 63 * 0.001); // rounded
    expect(decodeTag({ ...tag, offset: 1 }, wire, 0)).toBe(2 ** 63 + 1);
    const u = tagSchema.parse({ name: "u", address: 0, type: "uint64", order: "DCBA" });
    expect(decodeTag(u, Buffer.from("0100000000002000", "hex"), 0)).toBe(2n ** 53n + 1n);
  });
});

describe("read PDUs", () => {
  // Examples from the Modbus Application Protocol v1.1b3, sections 6.1 and 6.3.
  it("builds the request payload: address then quantity", () => {
    expect(buildReadRequest(3, 0x006b, 3).toString("hex")).toBe("006b0003");
    expect(buildReadRequest(1, 0x0013, 19).toString("hex")).toBe("00130013");
  });

  it("refuses quantities beyond the protocol's caps", () => {
    expect(() => buildReadRequest(3, 0, 126)).toThrow(RangeError);
    expect(() => buildReadRequest(1, 0, 2001)).toThrow(RangeError);
    expect(() => buildReadRequest(3, 0, 0)).toThrow(RangeError);
    expect(() => buildReadRequest(3, 65535, 2)).toThrow(RangeError);
    expect(buildReadRequest(1, 0, 2000).readUInt16BE(2)).toBe(2000);
  });

  it("returns the data bytes of a register response", () => {
    const data = parseReadResponse(3, 3, Buffer.from("06022b00000064", "hex"));
    expect(data.toString("hex")).toBe("022b00000064");
  });

  it("returns the data bytes of a coil response", () => {
    const data = parseReadResponse(1, 19, Buffer.from("03cd6b05", "hex"));
    expect(data.toString("hex")).toBe("cd6b05");
  });

  it("rejects a byte count that does not fit the quantity asked", () => {
    expect(() => parseReadResponse(3, 3, Buffer.from("04022b0000", "hex"))).toThrow(
      ModbusResponseError,
    );
    expect(() => parseReadResponse(3, 2, Buffer.from("04022b00", "hex"))).toThrow(/byte count 4/);
    expect(() => parseReadResponse(1, 19, Buffer.from("02cd6b", "hex"))).toThrow(
      ModbusResponseError,
    );
    expect(() => parseReadResponse(4, 1, Buffer.alloc(0))).toThrow(ModbusResponseError);
  });
});
