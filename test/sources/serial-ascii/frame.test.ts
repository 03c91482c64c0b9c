// The pure line parser: every format, the NMEA checksum, and the garbage a real serial line
// produces (noise at the wrong baud rate, a lost delimiter, half frames).

import { describe, expect, it } from "vitest";
import { sensorSchema } from "../../../src/config/schema.js";
import {
  checkNmea,
  createFrameParser,
  type FrameResult,
  MAX_LINE_LENGTH,
  nmeaChecksum,
} from "../../../src/sources/serial-ascii/frame.js";

function parser(extra: Record<string, unknown>) {
  const config = sensorSchema.parse({ name: "s", path: "/dev/null", ...extra });
  return createFrameParser(config);
}

function values(result: FrameResult): Record<string, number | string> {
  if (!result.ok) throw new Error(`garbage: ${result.reason} ${result.detail}`);
  return Object.fromEntries(result.fields.map((f) => [f.name, f.ok ? f.value : `!${f.text}`]));
}

function reason(result: FrameResult): string {
  return result.ok ? "ok" : result.reason;
}

/** An NMEA sentence with its checksum. */
function nmea(body: string): string {
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, "0")}`;
}

describe("csv", () => {
  const parse = parser({
    format: "csv",
    fields: [
      { name: "temp", index: 1, scale: 0.1 },
      { name: "hum", index: 2, offset: -5 },
    ],
  });

  it("takes fields by index and applies scale and offset", () => {
    expect(values(parse("A1,215,45.5"))).toEqual({ temp: 21.5, hum: 40.5 });
  });

  it("drops a trailing carriage return", () => {
    expect(values(parse("A1,215,45.5\r"))).toEqual({ temp: 21.5, hum: 40.5 });
  });

  it("drops a line without a configured column", () => {
    const r = parse("A1,215");
    expect(reason(r)).toBe("missingField");
    expect(r.ok || r.detail).toBe("hum");
  });

  it("marks a field that is present but not a number, keeping the others", () => {
    expect(values(parse("A1,ERR,45"))).toEqual({ temp: "!ERR", hum: 40 });
    expect(values(parse("A1,,45"))).toEqual({ temp: "!", hum: 40 });
  });

  it("takes decimal numbers only", () => {
    expect(values(parse("A1, +2.5e1 ,-.5"))).toEqual({ temp: 2.5, hum: -5.5 });
    for (const text of ["0x10", "Infinity", "NaN", "1 5", "12abc", "--1"]) {
      const r = parse(`A1,${text},1`);
      expect(r.ok && r.fields[0]?.ok, text).toBe(false);
    }
  });

  it("uses the configured separator", () => {
    const p = parser({ format: "csv", separator: ";", fields: [{ name: "v", index: 0 }] });
    expect(values(p("3.5;x"))).toEqual({ v: 3.5 });
  });
});

describe("keyValue", () => {
  const parse = parser({
    format: "keyValue",
    separator: " ",
    assign: ":",
    fields: [{ name: "temp", key: "T" }, { name: "RH" }],
  });

  it("finds fields by key (default: the field's name) in any order", () => {
    expect(values(parse("RH:41.0 T:-3.5"))).toEqual({ temp: -3.5, RH: 41 });
  });

  it("skips tokens that are not pairs, such as a status word", () => {
    expect(values(parse("OK T:20 RH:50  "))).toEqual({ temp: 20, RH: 50 });
  });

  it("drops a line with no pair at all, or without a configured key", () => {
    expect(reason(parse("hello world"))).toBe("format");
    expect(reason(parse("T:20 X:1"))).toBe("missingField");
  });

  it("splits a pair at the first assign only", () => {
    const p = parser({ format: "keyValue", fields: [{ name: "a" }] });
    expect(values(p("a=1=2"))).toEqual({ a: "!1=2" });
  });
});

describe("regex", () => {
  const parse = parser({
    format: "regex",
    pattern: "^W (?<speed>\\S+) m/s (?<dir>\\d+) deg$",
    fields: [{ name: "speed" }, { name: "direction", key: "dir" }],
  });

  it("takes fields from named groups", () => {
    expect(values(parse("W 3.4 m/s 270 deg"))).toEqual({ speed: 3.4, direction: 270 });
  });

  it("drops a line the pattern does not match", () => {
    expect(reason(parse("W 3.4 km/h 270 deg"))).toBe("format");
  });

  it("drops a line where an optional group did not take part", () => {
    const p = parser({
      format: "regex",
      pattern: "^(?<a>\\d+)(,(?<b>\\d+))?$",
      fields: [{ name: "a" }, { name: "b" }],
    });
    expect(values(p("1,2"))).toEqual({ a: 1, b: 2 });
    expect(reason(p("1"))).toBe("missingField");
  });

  it("refuses at creation a pattern that does not compile or lacks a field's group", () => {
    expect(() => parser({ format: "regex", pattern: "(?<a", fields: [{ name: "a" }] })).toThrow(
      /pattern/,
    );
    expect(() => parser({ format: "regex", pattern: "(?<a>x)", fields: [{ name: "b" }] })).toThrow(
      /no group \(\?<b>/,
    );
  });
});

describe("nmea checksum", () => {
  // A published sentence: the XOR of everything between $ and * is 0x47.
  const GGA = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47";
  const parse = parser({
    format: "csv",
    checksum: "nmea",
    fields: [
      { name: "lat", index: 2 },
      { name: "alt", index: 9 },
    ],
  });

  it("accepts a good sentence and parses the part between $ and *", () => {
    expect(checkNmea(GGA)).toMatch(/^GPGGA,123519/);
    expect(values(parse(GGA))).toEqual({ lat: 4807.038, alt: 545.4 });
    expect(values(parse(`${GGA}\r`))).toEqual({ lat: 4807.038, alt: 545.4 });
  });

  it("takes the checksum in lower case", () => {
    const body = "XXTMP,1,2,3,4,5,6,7,8,9.5";
    const line = nmea(body).replace(/[A-F]{1,2}$/, (h) => h.toLowerCase());
    expect(values(parse(line))).toEqual({ lat: 2, alt: 9.5 });
  });

  it("drops a sentence whose checksum is wrong", () => {
    const r = parse(GGA.replace("*47", "*48"));
    expect(reason(r)).toBe("checksum");
    expect(r.ok || r.detail).toBe("checksum 48 in line, 47 computed");
    // One character changed in transit.
    expect(reason(parse(GGA.replace("545.4", "545.5")))).toBe("checksum");
  });

  it("drops a sentence without a checksum or with a malformed one", () => {
    for (const line of [GGA.slice(0, -3), GGA.slice(1), `${GGA}7`, "$*", "*47", "$A*4G"]) {
      expect(reason(parse(line)), line).toBe("checksum");
    }
  });
});

describe("garbage", () => {
  const parse = parser({ format: "csv", fields: [{ name: "v", index: 0 }] });

  it("drops binary noise: control characters, invalid UTF-8, DEL", () => {
    expect(reason(parse("12\u0000"))).toBe("binary");
    expect(reason(parse("\u001b[2J12"))).toBe("binary");
    expect(reason(parse("1\ufffd2"))).toBe("binary");
    expect(reason(parse("\u007f"))).toBe("binary");
  });

  it("drops random bytes, whatever they are, without throwing", () => {
    let seed = 7;
    const byte = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let n = 0; n < 500; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (n % 40) }, byte));
      const r = parse(bytes.toString("utf8"));
      // A short run of digits is a valid frame; anything else must be dropped, not thrown.
      if (r.ok) expect(typeof r.fields[0]).toBe("object");
      else expect(["binary", "missingField", "format"]).toContain(r.reason);
    }
  });

  it("drops a very long line before any pattern runs on it", () => {
    const slow = parser({ format: "regex", pattern: "^(?<v>(a+)+)$", fields: [{ name: "v" }] });
    const line = `${"a".repeat(100_000)}!`;
    // Without the cap this pattern backtracks for ever on this line.
    const r = slow(line);
    expect(reason(r)).toBe("tooLong");
    expect(r.ok || r.detail).toBe("100001 characters");
    expect(reason(parse("1".repeat(MAX_LINE_LENGTH)))).toBe("ok");
    expect(reason(parse("1".repeat(MAX_LINE_LENGTH + 1)))).toBe("tooLong");
  });

  it("drops an empty line as a format error", () => {
    expect(reason(parse(""))).toBe("format");
    expect(reason(parse("\r"))).toBe("format");
  });
});
