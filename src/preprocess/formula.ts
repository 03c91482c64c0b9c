// The target as an expression over tags, e.g. `rate(line.goodParts) * 60` or
// `100 * line.good / (line.good + line.scrap)`. jsep only parses; the tree is checked
// against a short list of what is allowed and evaluated here, so a formula in a config
// file can never run JavaScript. Tag names hold dots, which jsep reads as member access:
// a chain of plain names is turned back into the dotted tag name.

import jsep from "jsep";

export type FormulaFunction = "rate" | "delta" | "min" | "max" | "abs" | "clamp";

type Node =
  | { kind: "number"; value: number }
  | { kind: "tag"; tag: string }
  | { kind: "negate"; arg: Node }
  | { kind: "binary"; op: "+" | "-" | "*" | "/"; left: Node; right: Node }
  | { kind: "change"; fn: "rate" | "delta"; tag: string }
  | { kind: "call"; fn: "min" | "max" | "abs" | "clamp"; args: Node[] };

/** What a formula reads for one grid row. */
export interface FormulaRow {
  /** Each tag's aligned value in the row (a counter's: its increase per grid step). */
  values: ReadonlyMap<string, number>;
  /** Each tag's increase over the row's grid step, rollover-aware for counters. */
  deltas: ReadonlyMap<string, number>;
  /** The grid step, for rate(). */
  gridMs: number;
}

export type FormulaResult =
  | { ok: true; value: number }
  | { ok: false; reason: "missing" | "divisionByZero" };

export interface Formula {
  /** Every tag the formula reads, in order of first use. */
  tags: string[];
  /** Tags read through rate() or delta(). */
  changeTags: string[];
  evaluate(row: FormulaRow): FormulaResult;
}

const ARITY: Record<string, [number, number]> = {
  rate: [1, 1],
  delta: [1, 1],
  min: [2, 2],
  max: [2, 2],
  abs: [1, 1],
  clamp: [3, 3],
};

/**
 * Parses and checks a formula. Throws an Error naming the unknown tag, the unknown
 * function or the syntax fault, so a bad formula fails when the config is loaded. Without
 * knownTags any tag name is accepted (used to list the tags a formula needs).
 */
export function parseFormula(text: string, knownTags?: Iterable<string>): Formula {
  let ast: jsep.Expression;
  try {
    ast = jsep(text);
  } catch (err) {
    throw new Error(`formula "${text}": ${(err as Error).message}`);
  }
  const known = knownTags ? new Set(knownTags) : undefined;
  const tags = new Set<string>();
  const changeTags = new Set<string>();
  const useTag = (tag: string) => {
    if (known && !known.has(tag)) throw new Error(unknownTag(tag, known));
    tags.add(tag);
    return tag;
  };
  let root: Node;
  try {
    root = compile(ast, useTag, changeTags);
  } catch (err) {
    throw new Error(`formula "${text}": ${(err as Error).message}`);
  }
  return {
    tags: [...tags],
    changeTags: [...changeTags],
    evaluate(row) {
      const state = { divisionByZero: false };
      const value = evaluate(root, row, state);
      if (state.divisionByZero) return { ok: false, reason: "divisionByZero" };
      if (!Number.isFinite(value)) return { ok: false, reason: "missing" };
      return { ok: true, value };
    },
  };
}

function compile(node: jsep.Expression, useTag: (t: string) => string, change: Set<string>) {
  const walk = (n: jsep.Expression): Node => {
    switch (n.type) {
      case "Literal": {
        const value = (n as jsep.Literal).value;
        if (typeof value !== "number") throw new Error(`only numbers are allowed, not ${n.raw}`);
        return { kind: "number", value };
      }
      case "Identifier":
      case "MemberExpression":
        return { kind: "tag", tag: useTag(tagName(n)) };
      case "UnaryExpression": {
        const { operator, argument } = n as jsep.UnaryExpression;
        if (operator === "+") return walk(argument);
        if (operator === "-") return { kind: "negate", arg: walk(argument) };
        throw new Error(`operator "${operator}" is not supported`);
      }
      case "BinaryExpression": {
        const { operator: op, left, right } = n as jsep.BinaryExpression;
        if (op !== "+" && op !== "-" && op !== "*" && op !== "/") {
          throw new Error(`operator "${op}" is not supported (use + - * /)`);
        }
        return { kind: "binary", op, left: walk(left), right: walk(right) };
      }
      case "CallExpression":
        return compileCall(n as jsep.CallExpression, walk, change);
      default:
        throw new Error(`${n.type} is not supported`);
    }
  };
  return walk(node);
}

function compileCall(
  n: jsep.CallExpression,
  walk: (n: jsep.Expression) => Node,
  change: Set<string>,
): Node {
  const fn = n.callee.type === "Identifier" ? (n.callee as jsep.Identifier).name : undefined;
  const arity = fn !== undefined && Object.hasOwn(ARITY, fn) ? ARITY[fn] : undefined;
  if (fn === undefined || !arity) {
    const names = Object.keys(ARITY).join(", ");
    throw new Error(`unknown function "${fn ?? n.callee.type}" (known: ${names})`);
  }
  if (n.arguments.length < arity[0] || n.arguments.length > arity[1]) {
    throw new Error(`${fn}() takes ${arity[0]} argument(s), got ${n.arguments.length}`);
  }
  if (fn === "rate" || fn === "delta") {
    const arg = walk(n.arguments[0] as jsep.Expression);
    if (arg.kind !== "tag") throw new Error(`${fn}() takes a tag name`);
    change.add(arg.tag);
    return { kind: "change", fn, tag: arg.tag };
  }
  return { kind: "call", fn: fn as "min", args: n.arguments.map(walk) };
}

// LIMITATION: a tag name holding "-" (allowed by the config schema) cannot be written in a
// formula; a quoting syntax such as tag("oven.temp-top") would lift it.
function unknownTag(tag: string, known: ReadonlySet<string>): string {
  // jsep reads `line.good-parts` as `line.good - parts`: say so rather than only "unknown".
  const hyphenated = [...known].find((k) => k.startsWith(`${tag}-`));
  const hint = hyphenated ? ` ("${hyphenated}" cannot be written in a formula: it holds "-")` : "";
  return `unknown tag "${tag}"${hint}`;
}

/** `line.goodParts` arrives as member access; only plain dotted names are tags. */
function tagName(n: jsep.Expression): string {
  if (n.type === "Identifier") return (n as jsep.Identifier).name;
  const m = n as jsep.MemberExpression;
  if (m.type === "MemberExpression" && !m.computed && m.property.type === "Identifier") {
    return `${tagName(m.object)}.${(m.property as jsep.Identifier).name}`;
  }
  throw new Error("only dotted tag names are allowed, not indexing or calls on values");
}

function evaluate(n: Node, row: FormulaRow, state: { divisionByZero: boolean }): number {
  switch (n.kind) {
    case "number":
      return n.value;
    case "tag":
      return row.values.get(n.tag) ?? Number.NaN;
    case "negate":
      return -evaluate(n.arg, row, state);
    case "change": {
      const d = row.deltas.get(n.tag) ?? Number.NaN;
      return n.fn === "delta" ? d : d / (row.gridMs / 1000);
    }
    case "binary": {
      const a = evaluate(n.left, row, state);
      const b = evaluate(n.right, row, state);
      if (n.op === "+") return a + b;
      if (n.op === "-") return a - b;
      if (n.op === "*") return a * b;
      if (b === 0) state.divisionByZero = true;
      return a / b;
    }
    case "call": {
      const [a, b, c] = n.args.map((arg) => evaluate(arg, row, state)) as number[];
      if (n.fn === "abs") return Math.abs(a as number);
      if (n.fn === "min") return Math.min(a as number, b as number);
      if (n.fn === "max") return Math.max(a as number, b as number);
      return Math.min(Math.max(a as number, b as number), c as number);
    }
  }
}
