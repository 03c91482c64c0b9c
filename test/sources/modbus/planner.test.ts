import { describe, expect, it } from "vitest";
import { type TagConfig, tagSchema } from "../../../src/config/schema.js";
import { type PlanLimits, planReads, tagSpan } from "../../../src/sources/modbus/planner.js";

function tag(name: string, address: number, extra: Record<string, unknown> = {}): TagConfig {
  return tagSchema.parse({ name, address, ...extra });
}

const LIMITS: PlanLimits = { maxRegistersPerRead: 125, maxBitsPerRead: 2000, maxGap: 10 };

function summary(tags: TagConfig[], limits: PlanLimits = LIMITS) {
  return planReads(tags, limits).map((r) => ({
    fc: r.functionCode,
    address: r.address,
    quantity: r.quantity,
    tags: r.tags.map((p) => `${p.tag.name}@${p.offset}`),
  }));
}

describe("planReads", () => {
  it("merges neighbours and sorts by address", () => {
    const tags = [tag("c", 4, { type: "float32" }), tag("a", 0), tag("b", 1)];
    expect(summary(tags)).toEqual([
      { fc: 3, address: 0, quantity: 6, tags: ["a@0", "b@1", "c@4"] },
    ]);
  });

  it("merges across a gap of exactly maxGap and splits beyond it", () => {
    const limits = { ...LIMITS, maxGap: 3 };
    expect(summary([tag("a", 0), tag("b", 4)], limits)).toHaveLength(1);
    expect(summary([tag("a", 0), tag("b", 5)], limits)).toEqual([
      { fc: 3, address: 0, quantity: 1, tags: ["a@0"] },
      { fc: 3, address: 5, quantity: 1, tags: ["b@0"] },
    ]);
    expect(summary([tag("a", 0), tag("b", 1)], { ...LIMITS, maxGap: 0 })).toHaveLength(1);
  });

  it("never spans more than the register cap, even inside the gap", () => {
    const limits = { ...LIMITS, maxRegistersPerRead: 4 };
    const tags = [tag("a", 0, { type: "int32" }), tag("b", 2, { type: "float32" }), tag("c", 4)];
    expect(summary(tags, limits)).toEqual([
      { fc: 3, address: 0, quantity: 4, tags: ["a@0", "b@2"] },
      { fc: 3, address: 4, quantity: 1, tags: ["c@0"] },
    ]);
  });

  it("plans each table with its own function code and cap", () => {
    const tags = [
      tag("hr", 0),
      tag("ir", 0, { table: "inputRegister", type: "int16" }),
      tag("co", 0, { table: "coil", type: "bool" }),
      tag("co2", 150, { table: "coil", type: "bool" }),
      tag("di", 7, { table: "discreteInput", type: "bool" }),
    ];
    const limits = { ...LIMITS, maxBitsPerRead: 100, maxGap: 124 };
    expect(summary(tags, limits)).toEqual([
      { fc: 1, address: 0, quantity: 1, tags: ["co@0"] },
      { fc: 1, address: 150, quantity: 1, tags: ["co2@0"] },
      { fc: 2, address: 7, quantity: 1, tags: ["di@0"] },
      { fc: 4, address: 0, quantity: 1, tags: ["ir@0"] },
      { fc: 3, address: 0, quantity: 1, tags: ["hr@0"] },
    ]);
  });

  it("carries overlapping tags in one request", () => {
    const tags = [tag("whole", 10, { type: "uint32" }), tag("low", 11), tag("high", 10)];
    expect(summary(tags)).toEqual([
      { fc: 3, address: 10, quantity: 2, tags: ["high@0", "whole@0", "low@1"] },
    ]);
  });

  it("names a tag that no read can carry", () => {
    const limits = { ...LIMITS, maxRegistersPerRead: 1 };
    expect(() => planReads([tag("flow", 0, { type: "float32" })], limits)).toThrow(/flow/);
    expect(() => planReads([tag("end", 65535, { type: "int32" })], LIMITS)).toThrow(/end/);
  });

  it("keeps every random plan within the caps and covers each tag exactly once", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const types = ["int16", "uint16", "int32", "uint32", "float32"];
    for (let round = 0; round < 200; round++) {
      const limits = {
        maxRegistersPerRead: 2 + Math.floor(random() * 124),
        maxBitsPerRead: 1 + Math.floor(random() * 300),
        maxGap: Math.floor(random() * 20),
      };
      const tags = Array.from({ length: 1 + Math.floor(random() * 60) }, (_, i) =>
        random() < 0.3
          ? tag(`b${i}`, Math.floor(random() * 1000), { table: "coil", type: "bool" })
          : tag(`r${i}`, Math.floor(random() * 1000), { type: types[i % types.length] }),
      );
      const plan = planReads(tags, limits);
      const seen: string[] = [];
      for (const req of plan) {
        const cap = req.table === "coil" ? limits.maxBitsPerRead : limits.maxRegistersPerRead;
        expect(req.quantity).toBeLessThanOrEqual(cap);
        for (const p of req.tags) {
          seen.push(p.tag.name);
          expect(p.tag.table).toBe(req.table);
          expect(req.address + p.offset).toBe(p.tag.address);
          expect(p.offset + tagSpan(p.tag)).toBeLessThanOrEqual(req.quantity);
        }
      }
      expect(seen.sort()).toEqual(tags.map((t) => t.name).sort());
      // Fewest requests: two consecutive requests of a table could not have been merged.
      for (let i = 1; i < plan.length; i++) {
        const [prev, cur] = [plan[i - 1], plan[i]];
        const first = cur?.tags[0]?.tag;
        if (prev === undefined || cur === undefined || first === undefined) continue;
        if (prev.table !== cur.table) continue;
        const gap = cur.address - (prev.address + prev.quantity);
        const cap = cur.table === "coil" ? limits.maxBitsPerRead : limits.maxRegistersPerRead;
        const span = cur.address + tagSpan(first) - prev.address;
        expect(gap > limits.maxGap || span > cap).toBe(true);
      }
    }
  });
});
