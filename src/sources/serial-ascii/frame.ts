// Parsing one line from a serial ASCII sensor into field values. Pure: no I/O, no clock, so
// every format and every kind of garbage is tested without a port. The serial side (line
// splitting, reconnects) lives in sensor.ts.

import type { SensorConfig } from "../../config/schema.js";

/** Why a line was dropped as a whole. */
export type GarbageReason =
  /** Bytes no text sensor sends: control characters, invalid UTF-8 (often a baud mismatch). */
  | "binary"
  /** Longer than MAX_LINE_LENGTH: a lost delimiter or a runaway stream. */
  | "tooLong"
  /** NMEA checksum absent, malformed or wrong. */
  | "checksum"
  /** The line does not have the configured shape (no pairs, regex does not match). */
  | "format"
  /** A configured field is not in the line. */
  | "missingField";

export const GARBAGE_REASONS: readonly GarbageReason[] = [
  "binary",
  "tooLong",
  "checksum",
  "format",
  "missingField",
];

/** Real sensor frames are short; a cap also bounds the work a user's regex can do. */
export const MAX_LINE_LENGTH = 1024;

/** A field found in the line: its scaled value, or the text that was not a number. */
export type FieldValue =
  | { name: string; ok: true; value: number }
  | { name: string; ok: false; text: string };

export type FrameResult =
  | { ok: true; fields: FieldValue[] }
  | { ok: false; reason: GarbageReason; detail: string };

export type FrameParser = (line: string) => FrameResult;

type SensorFormat = Pick<
  SensorConfig,
  "format" | "separator" | "assign" | "pattern" | "checksum" | "fields"
>;

/** Text of each configured field, by field name; undefined when the field is absent. */
type Extract = (body: string) => Map<string, string | undefined> | string;

// Control characters (tab aside), DEL, and U+FFFD, which the decoder puts for invalid UTF-8.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const BINARY = /[\x00-\x08\x0a-\x1f\x7f\ufffd]/;

/** Decimal numbers only: `Number()` would also take "0x1f", "Infinity" and "". */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The parser for a sensor's config. Throws when the config cannot work (a regex that does
 * not compile), so that a sensor fails at start, not on its first line.
 */
export function createFrameParser(config: SensorFormat): FrameParser {
  const extract = extractorFor(config);
  return (line) => parseFrame(line, config, extract);
}

function parseFrame(line: string, config: SensorFormat, extract: Extract): FrameResult {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.length > MAX_LINE_LENGTH) {
    return garbage("tooLong", `${text.length} characters`);
  }
  if (text.length === 0) return garbage("format", "empty line");
  if (BINARY.test(text)) return garbage("binary", sample(text));

  let body = text;
  if (config.checksum === "nmea") {
    const checked = checkNmea(text);
    if (typeof checked !== "string") return garbage("checksum", checked.detail);
    body = checked;
  }

  const found = extract(body);
  if (typeof found === "string") return garbage("format", found);
  const missing = config.fields.filter((f) => found.get(f.name) === undefined);
  if (missing.length) {
    return garbage("missingField", missing.map((f) => f.name).join(", "));
  }
  return { ok: true, fields: config.fields.map((f) => fieldValue(f, found.get(f.name) ?? "")) };
}

function fieldValue(field: SensorFormat["fields"][number], raw: string): FieldValue {
  const text = raw.trim();
  if (!NUMBER.test(text)) return { name: field.name, ok: false, text: sample(text) };
  return { name: field.name, ok: true, value: Number(text) * field.scale + field.offset };
}

function garbage(reason: GarbageReason, detail: string): FrameResult {
  return { ok: false, reason, detail };
}

/** A short, printable excerpt of a line for logs. */
export function sample(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).slice(1, -1);
}

/** The XOR of the character codes of `text`: the NMEA 0183 checksum. */
export function nmeaChecksum(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum ^= text.charCodeAt(i);
  return sum & 0xff;
}

/** The sentence between `$` and `*` when the checksum is right, else why not. */
export function checkNmea(line: string): string | { detail: string } {
  const match = /^\$([^*$]*)\*([0-9A-Fa-f]{2})$/.exec(line);
  if (!match) return { detail: `not $...*HH: ${sample(line)}` };
  const body = match[1] ?? "";
  const expected = Number.parseInt(match[2] ?? "", 16);
  const actual = nmeaChecksum(body);
  if (actual !== expected) {
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");
    return { detail: `checksum ${hex(expected)} in line, ${hex(actual)} computed` };
  }
  return body;
}

function extractorFor(config: SensorFormat): Extract {
  switch (config.format) {
    case "csv":
      return csvExtractor(config);
    case "keyValue":
      return keyValueExtractor(config);
    case "regex":
      return regexExtractor(config);
  }
}

function csvExtractor(config: SensorFormat): Extract {
  return (body) => {
    const columns = body.split(config.separator);
    return new Map(config.fields.map((f) => [f.name, columns[f.index ?? -1]]));
  };
}

// Tokens without the assign character are skipped rather than fatal: some sensors put a
// status word ("OK") among their pairs. A line with no pair at all is not keyValue.
function keyValueExtractor(config: SensorFormat): Extract {
  return (body) => {
    const pairs = new Map<string, string>();
    for (const token of body.split(config.separator)) {
      const at = token.indexOf(config.assign);
      if (at < 0) continue;
      pairs.set(token.slice(0, at).trim(), token.slice(at + config.assign.length));
    }
    if (pairs.size === 0) return `no ${config.assign} pairs: ${sample(body)}`;
    return new Map(config.fields.map((f) => [f.name, pairs.get(f.key ?? f.name)]));
  };
}

function regexExtractor(config: SensorFormat): Extract {
  let pattern: RegExp;
  try {
    pattern = new RegExp(config.pattern ?? "");
  } catch (err) {
    throw new Error(`pattern ${config.pattern}: ${(err as Error).message}`);
  }
  // An alternative that matches the empty string lists every group name the pattern has.
  const names = Object.keys(new RegExp(`${pattern.source}|`).exec("")?.groups ?? {});
  for (const f of config.fields) {
    const key = f.key ?? f.name;
    if (!names.includes(key)) throw new Error(`pattern has no group (?<${key}>…)`);
  }
  return (body) => {
    const groups = pattern.exec(body)?.groups;
    if (!groups) return `pattern does not match: ${sample(body)}`;
    return new Map(config.fields.map((f) => [f.name, groups[f.key ?? f.name]]));
  };
}
