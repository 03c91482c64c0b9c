import { describe, expect, it } from "vitest";
import { type FormulaRow, parseFormula } from "../../src/preprocess/formula.js";

const known = ["line.good", "line.scrap", "line.goodParts", "line.speed", "oven.temp-top"];

function row(values: Record<string, number>, deltas: Record<string, number> = {}): FormulaRow {
  return {
    values: new Map(Object.entries(values)),
    deltas: new Map(Object.entries(deltas)),
    gridMs: 2000,
  };
}

function value(text: string, r: FormulaRow): number | undefined {
  const result = parseFormula(text, known).evaluate(r);
  return result.ok ? result.value : undefined;
}

describe("parseFormula: tags", () => {
  it("turns dotted member chains back into tag names", () => {
    const f = parseFormula("100 * line.good / (line.good + line.scrap)", known);

    expect(f.tags).toEqual(["line.good", "line.scrap"]);
    expect(f.changeTags).toEqual([]);
    const r = row({ "line.good": 90, "line.scrap": 10 });
    expect(f.evaluate(r)).toEqual({ ok: true, value: 90 });
  });

  it("lists the tags read through rate() and delta()", () => {
    const f = parseFormula("rate(line.goodParts) * 60 + delta(line.scrap)", known);

    expect(f.tags).toEqual(["line.goodParts", "line.scrap"]);
    expect(f.changeTags).toEqual(["line.goodParts", "line.scrap"]);
  });

  it("names the unknown tag", () => {
    const bad = "rate(line.goood) * 60";
    expect(() => parseFormula(bad, known)).toThrow(/unknown tag "line\.goood"/);
  });

  it("explains that a tag holding '-' cannot be written", () => {
    expect(() => parseFormula("oven.temp-top * 2", known)).toThrow(/"oven\.temp-top" cannot/);
  });

  it("accepts any tag without a list of known tags", () => {
    expect(parseFormula("a.b.c + d").tags).toEqual(["a.b.c", "d"]);
  });
});

describe("parseFormula: evaluation", () => {
  const r = row({ "line.good": 12, "line.scrap": -3, "line.speed": 5 }, { "line.goodParts": 10 });

  it("follows precedence, parentheses and unary minus", () => {
    expect(value("2 + 3 * 4", r)).toBe(14);
    expect(value("(2 + 3) * 4", r)).toBe(20);
    expect(value("-line.good + 1", r)).toBe(-11);
    expect(value("-(2 - 5) / 2", r)).toBe(1.5);
    expect(value("+1e3", r)).toBe(1000);
  });

  it("gives rate() per second over the grid step and delta() per step", () => {
    // gridMs 2000: 10 parts in a step are 5 per second.
    expect(value("rate(line.goodParts)", r)).toBe(5);
    expect(value("delta(line.goodParts)", r)).toBe(10);
  });

  it("has min, max, abs and clamp", () => {
    expect(value("min(line.good, line.speed)", r)).toBe(5);
    expect(value("max(line.good, line.speed)", r)).toBe(12);
    expect(value("abs(line.scrap)", r)).toBe(3);
    expect(value("clamp(line.good, 0, 10)", r)).toBe(10);
    expect(value("clamp(line.scrap, 0, 10)", r)).toBe(0);
    expect(value("clamp(line.speed, 0, 10)", r)).toBe(5);
  });

  it("reports division by zero instead of a value", () => {
    const f = parseFormula("line.good / (line.speed - 5)", known);

    expect(f.evaluate(r)).toEqual({ ok: false, reason: "divisionByZero" });
  });

  it("reports a missing tag value as missing", () => {
    const f = parseFormula("line.good + rate(line.good)", known);

    expect(f.evaluate(row({ "line.good": 1 }))).toEqual({ ok: false, reason: "missing" });
    expect(f.evaluate(row({}, { "line.good": 1 }))).toEqual({ ok: false, reason: "missing" });
  });
});

describe("parseFormula: refusals", () => {
  it("reports bad syntax with the formula", () => {
    expect(() => parseFormula("1 +", known)).toThrow(/formula "1 \+":/);
    expect(() => parseFormula("line.good )", known)).toThrow(/formula/);
  });

  it("never runs JavaScript", () => {
    const g = globalThis as { pwned?: number };
    const attacks = [
      'constructor.constructor("globalThis.pwned = 1")()',
      "line.good.constructor.constructor('globalThis.pwned = 1')()",
      'this.constructor.constructor("globalThis.pwned = 1")()',
      "line.good['constructor']",
      "__proto__.polluted",
    ];
    for (const text of attacks) {
      expect(() => parseFormula(text, known), text).toThrow(/formula/);
    }
    // Without a list of known tags the odd names parse as tags, read as missing values.
    const f = parseFormula("constructor + __proto__.x");
    expect(f.evaluate(row({ "line.good": 1 }))).toEqual({ ok: false, reason: "missing" });
    expect(g.pwned).toBeUndefined();
  });

  it("refuses calls of anything but the known functions", () => {
    expect(() => parseFormula("sqrt(line.good)", known)).toThrow(/unknown function "sqrt"/);
    expect(() => parseFormula("line.good(1)", known)).toThrow(/unknown function/);
  });

  it("refuses strings, other operators and the conditional", () => {
    expect(() => parseFormula('"x" + 1', known)).toThrow(/only numbers/);
    expect(() => parseFormula("line.good % 2", known)).toThrow(/operator "%"/);
    expect(() => parseFormula("line.good > 2", known)).toThrow(/operator ">"/);
    expect(() => parseFormula("!line.good", known)).toThrow(/operator "!"/);
    expect(() => parseFormula("line.good ? 1 : 2", known)).toThrow(/ConditionalExpression/);
    expect(() => parseFormula("[1, 2]", known)).toThrow(/ArrayExpression/);
  });

  it("checks the number of arguments and that rate() takes a tag", () => {
    expect(() => parseFormula("min(line.good)", known)).toThrow(/min\(\) takes 2/);
    expect(() => parseFormula("clamp(1, 2)", known)).toThrow(/clamp\(\) takes 3/);
    expect(() => parseFormula("rate(line.good * 2)", known)).toThrow(/rate\(\) takes a tag/);
  });
});
