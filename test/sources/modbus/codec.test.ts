// Expected wire bytes come from Python's struct module (through /usr/bin/python3) and from
// constants worked by hand, never from our own encoder.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tagSchema } from "../../../src/config/schema.js";
import {
  buildReadRequest,
  decodeBit,
  decodeRaw,
  decodeTag,
  encodeRaw,
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
};

// Each order is built from struct's big- and little-endian packings, independently of ours.
const PYTHON = `
import json, struct, sys
fmt = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}
out = []
for case in json.loads(sys.stdin.read()):
    t, v = case["type"], case["value"]
    v = float(v) if isinstance(v, str) or t == "float32" else v
    be = struct.pack(">" + fmt[t], v)
    le = struct.pack("<" + fmt[t], v)
    if len(be) == 2:
        wire = {"ABCD": be, "CDAB": be, "BADC": le, "DCBA": le}
    else:
        hi, lo = struct.unpack(">HH", be)
        wire = {"ABCD": be, "DCBA": le,
                "CDAB": struct.pack(">HH", lo, hi), "BADC": struct.pack("<HH", hi, lo)}
    out.append(dict(case, wire={k: w.hex() for k, w in wire.items()}))
print(json.dumps(out))
`;

interface PyCase {
  type: NumericType;
  value: number | string;
  wire: Record<(typeof ORDERS)[number], string>;
}

function pythonCases(): PyCase[] | undefined {
  const input = Object.entries(VALUES).flatMap(([type, values]) =>
    values.map((value) => ({ type, value })),
  );
  const r = spawnSync(SYSTEM_PYTHON, ["-c", PYTHON], {
    input: JSON.stringify(input),
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as PyCase[];
}

function expectedValue(type: NumericType, value: number | string): number {
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
    expect(
      ["bool", "int16", "uint16", "int32", "uint32", "float32"].map((t) =>
        registerCount(t as never),
      ),
    ).toEqual([1, 1, 1, 2, 2, 2]);
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
