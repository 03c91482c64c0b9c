// RTU framing on its own: the CRC against published vectors, request frames, and the
// response parser fed noise, foreign frames, corrupted frames and bytes one at a time.

import { describe, expect, it } from "vitest";
import { EchoFilter } from "../../../src/sources/modbus/rtu-echo.js";
import {
  crc16Modbus,
  encodeRtuFrame,
  hasValidCrc,
  RtuResponseParser,
} from "../../../src/sources/modbus/rtu-frame.js";
import { characterBits, frameGapMs, transmitMs } from "../../../src/sources/modbus/rtu-timing.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** A response frame with its CRC appended. */
function reply(bodyHex: string): Buffer {
  const body = hex(bodyHex);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16Modbus(body));
  return Buffer.concat([body, crc]);
}

describe("crc16Modbus", () => {
  it.each([
    // Read 10 holding registers of unit 1: the vector most device manuals print.
    ["01 03 00 00 00 0A", "C5 CD"],
    // The Modbus over serial line guide's example: unit 17 reads registers 108-110.
    ["11 03 00 6B 00 03", "76 87"],
    // The guide's CRC walkthrough: the two bytes 02 07 give 0x1241, sent low byte first.
    ["02 07", "41 12"],
  ])("%s has CRC %s on the wire", (body, crc) => {
    const frame = encodeRtuFrame(hex(body)[0]!, hex(body)[1]!, hex(body).subarray(2));
    expect(frame.subarray(-2).toString("hex")).toBe(hex(crc).toString("hex"));
    expect(hasValidCrc(frame)).toBe(true);
  });

  it("rejects a frame with one bit flipped", () => {
    const frame = encodeRtuFrame(1, 3, hex("0000000A"));
    frame[3] = (frame[3] ?? 0) ^ 0x01;
    expect(hasValidCrc(frame)).toBe(false);
  });
});

describe("RtuResponseParser", () => {
  it("delimits read, write and exception replies by function code", () => {
    const p = new RtuResponseParser();
    p.expect(1, 3);
    expect(p.push(reply("01 03 04 11 22 33 44"))?.payload.toString("hex")).toBe("0411223344");
    p.expect(1, 6);
    expect(p.push(reply("01 06 00 01 00 03"))?.payload.toString("hex")).toBe("00010003");
    p.expect(1, 16);
    expect(p.push(reply("01 10 00 01 00 02"))?.payload.toString("hex")).toBe("00010002");
    p.expect(2, 4);
    const ex = p.push(reply("02 84 02"));
    expect(ex).toEqual({ unitId: 2, functionCode: 0x84, payload: hex("02") });
    expect(p.garbageBytes).toBe(0);
  });

  it("waits for a reply that arrives one byte at a time", () => {
    const p = new RtuResponseParser();
    p.expect(7, 3);
    const bytes = reply("07 03 02 AB CD");
    for (let i = 0; i < bytes.length - 1; i++) {
      expect(p.push(bytes.subarray(i, i + 1))).toBeUndefined();
    }
    expect(p.push(bytes.subarray(-1))?.payload.toString("hex")).toBe("02abcd");
  });

  it("resynchronises after noise, another unit's reply and a corrupted frame", () => {
    const p = new RtuResponseParser();
    p.expect(1, 3);
    const corrupted = reply("01 03 02 00 01");
    corrupted[4] = 0x99;
    const stream = Buffer.concat([
      hex("FF 00 13"),
      reply("02 03 02 00 05"),
      corrupted,
      reply("01 03 02 12 34"),
    ]);
    const found = p.push(stream);
    expect(found?.payload.toString("hex")).toBe("021234");
    expect(p.crcErrors).toBe(1);
    expect(p.garbageBytes).toBe(3 + 7 + 7);
  });

  it("looks past a noise byte pair that announces a long frame", () => {
    const p = new RtuResponseParser();
    p.expect(1, 3);
    // 01 03 F0 would announce 240 data bytes; the real reply follows right after.
    expect(p.push(Buffer.concat([hex("01 03 F0"), reply("01 03 02 00 2A")]))?.payload).toEqual(
      hex("02 00 2A"),
    );
  });

  it("takes nothing while no request is in flight, and counts it", () => {
    const p = new RtuResponseParser();
    expect(p.push(reply("01 03 02 00 01"))).toBeUndefined();
    p.expect(1, 3);
    expect(p.push(hex("01 03"))).toBeUndefined();
    p.clear();
    expect(p.garbageBytes).toBe(7 + 2);
  });
});

describe("EchoFilter", () => {
  it("removes the echo across chunks and passes the reply on", () => {
    const echo = new EchoFilter();
    const request = encodeRtuFrame(1, 6, hex("0001 0003"));
    echo.arm(request);
    expect(echo.filter(request.subarray(0, 3)).length).toBe(0);
    const rest = echo.filter(Buffer.concat([request.subarray(3), request]));
    // A write-single reply is identical to the request: only the first copy is echo.
    expect(rest).toEqual(request);
    expect(echo.discarded).toBe(1);
  });

  it("hands back what it held when the bytes turn out not to be the echo", () => {
    const echo = new EchoFilter();
    echo.arm(encodeRtuFrame(1, 3, hex("0000 0002")));
    expect(echo.filter(hex("01 03")).length).toBe(0);
    expect(echo.filter(hex("04 AA"))).toEqual(hex("01 03 04 AA"));
    expect(echo.mismatches).toBe(1);
  });
});

describe("RTU timing", () => {
  it("counts a start bit, the data bits, a parity bit if any and the stop bits", () => {
    const bits = (dataBits: 7 | 8, parity: "none" | "even" | "odd", stopBits: 1 | 2) =>
      characterBits({ dataBits, parity, stopBits });
    expect(bits(8, "even", 1)).toBe(11);
    expect(bits(8, "none", 2)).toBe(11);
    expect(bits(8, "none", 1)).toBe(10);
    expect(bits(8, "even", 2)).toBe(12);
    expect(bits(8, "odd", 2)).toBe(12);
    expect(bits(7, "even", 1)).toBe(10);
    expect(bits(7, "none", 1)).toBe(9);
    expect(bits(7, "odd", 2)).toBe(11);
  });

  it("keeps 3.5 characters up to 19200 baud and 1.75 ms above", () => {
    type Parity = "none" | "even";
    const gap = (baudRate: number, parity: Parity, stopBits: 1 | 2, dataBits: 7 | 8 = 8) =>
      frameGapMs({ baudRate, parity, dataBits, stopBits });
    expect(gap(9600, "even", 1)).toBeCloseTo(4.0104, 3);
    expect(gap(19200, "none", 1)).toBeCloseTo(1.8229, 3);
    // 8E2: 12 bits a character, 3.5 of them at 9600 baud.
    expect(gap(9600, "even", 2)).toBeCloseTo(4.375, 3);
    // 7E1: 10 bits.
    expect(gap(9600, "even", 1, 7)).toBeCloseTo(3.6458, 3);
    expect(gap(115200, "even", 1)).toBe(1.75);
  });

  it("times a frame's transmission by the same character length", () => {
    // 8 bytes at 8E2 and 9600 baud: 96 bits, 10 ms.
    expect(transmitMs(8, { baudRate: 9600, parity: "even", dataBits: 8, stopBits: 2 })).toBe(10);
  });
});
