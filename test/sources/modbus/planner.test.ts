// The read planner, and finding holes in a device's register map by splitting merged reads.

import { describe, expect, it } from "vitest";
import { type TagConfig, tagSchema } from "../../../src/config/schema.js";
import { AddressHoles } from "../../../src/sources/modbus/address-holes.js";
import { ModbusExceptionError, ModbusTimeoutError } from "../../../src/sources/modbus/errors.js";
import {
  type PlanLimits,
  planReads,
  type ReadRequest,
  splitRequest,
  tagSpan,
} from "../../../src/sources/modbus/planner.js";
import { isIllegalAddress, readSplitting } from "../../../src/sources/modbus/read-splitter.js";

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

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** A device whose map refuses some addresses: any read touching one answers exception 2. */
function deviceWithHoles(illegal: Set<number>, sent: ReadRequest[] = []) {
  return async (req: ReadRequest): Promise<Buffer> => {
    sent.push(req);
    for (let a = req.address; a < req.address + req.quantity; a++) {
      if (illegal.has(a)) throw new ModbusExceptionError(1, req.functionCode, 2);
    }
    return Buffer.alloc(req.quantity * 2);
  };
}

/** One poll as the poller does it: every planned request, split on exception 2. */
async function poll(
  tags: TagConfig[],
  limits: PlanLimits,
  holes: AddressHoles,
  illegal: Set<number>,
) {
  const sent: ReadRequest[] = [];
  const good = new Set<string>();
  const refused = new Set<string>();
  const send = deviceWithHoles(illegal, sent);
  for (const request of planReads(tags, limits, holes)) {
    const result = await readSplitting(request, send, holes, () => false);
    for (const outcome of result.done) {
      const names = outcome.request.tags.map((p) => p.tag.name);
      for (const n of names) ("response" in outcome ? good : refused).add(n);
    }
  }
  return { sent, good, refused };
}

describe("planReads with address base, single reads and holes", () => {
  it("subtracts the address base and names a tag below it", () => {
    const limits = { ...LIMITS, addressBase: 1 };
    expect(summary([tag("a", 1), tag("b", 40001 - 40000)], limits)).toEqual([
      { fc: 3, address: 0, quantity: 1, tags: ["a@0", "b@0"] },
    ]);
    expect(planReads([tag("top", 65536)], limits)[0]?.address).toBe(65535);
    expect(() => planReads([tag("zero", 0)], limits)).toThrow(/zero.*addressBase 1/);
  });

  it("reads one tag per request, each in one request of its own width", () => {
    const tags = [tag("a", 0), tag("f", 1, { type: "float32" }), tag("d", 3, { type: "float64" })];
    expect(summary(tags, { ...LIMITS, singleRegisterReads: true })).toEqual([
      { fc: 3, address: 0, quantity: 1, tags: ["a@0"] },
      { fc: 3, address: 1, quantity: 2, tags: ["f@0"] },
      { fc: 3, address: 3, quantity: 4, tags: ["d@0"] },
    ]);
  });

  it("spans strings and 64-bit values whole", () => {
    const tags = [tag("s", 0, { type: "string", length: 10 }), tag("u", 10, { type: "uint64" })];
    expect(summary(tags)).toEqual([{ fc: 3, address: 0, quantity: 14, tags: ["s@0", "u@10"] }]);
  });

  it("plans around refused addresses and breaks", () => {
    const holes = new AddressHoles();
    const tags = [0, 1, 2, 4, 6, 7].map((a) => tag(`t${a}`, a));
    holes.addIllegal("holdingRegister", 2, 1);
    holes.addIllegal("holdingRegister", 5, 1);
    holes.addBreak("holdingRegister", 7);
    expect(planReads(tags, LIMITS, holes).map((r) => r.tags.map((p) => p.tag.name))).toEqual([
      ["t0", "t1"],
      ["t2"],
      ["t4"],
      ["t6"],
      ["t7"],
    ]);
    // Another table is not affected.
    const coils = [0, 1, 2].map((a) => tag(`c${a}`, a, { table: "coil", type: "bool" }));
    expect(planReads(coils, LIMITS, holes)).toHaveLength(1);
  });

  it("splits a request in halves at a change of start address, offsets recomputed", () => {
    const [request] = planReads(
      [tag("a", 10), tag("b", 11, { type: "int32" }), tag("c", 11), tag("d", 20)],
      LIMITS,
    );
    const [lower, upper] = splitRequest(request!);
    expect([
      lower.address,
      lower.quantity,
      lower.tags.map((p) => `${p.tag.name}@${p.offset}`),
    ]).toEqual([10, 3, ["a@0", "c@1", "b@1"]]);
    expect([upper.address, upper.quantity, upper.tags.map((p) => p.offset)]).toEqual([20, 1, [0]]);
    expect(() => splitRequest(lower.tags.length === 1 ? lower : upper)).toThrow(RangeError);
  });
});

describe("finding holes by splitting", () => {
  const tags = Array.from({ length: 30 }, (_, a) => tag(`t${a}`, a));
  // 7 and 20 are tags' registers; 21 is not: the tag there is missing from the config.
  const illegal = new Set([7, 20, 21]);
  const withoutTag21 = tags.filter((t) => t.address !== 21);

  it("reads every other tag in the first poll and only the hole's tags go bad", async () => {
    const holes = new AddressHoles();
    const first = await poll(withoutTag21, LIMITS, holes, illegal);
    expect([...first.refused].sort()).toEqual(["t20", "t7"]);
    expect(first.good.size).toBe(27);
    expect(holes.summary().holdingRegister?.illegal).toEqual([7, 20]);
  });

  it("remembers the hole: the next polls refuse only the lone tags in it", async () => {
    const holes = new AddressHoles();
    await poll(withoutTag21, LIMITS, holes, illegal);
    const version = holes.version;
    for (let i = 0; i < 3; i++) {
      const again = await poll(withoutTag21, LIMITS, holes, illegal);
      expect([...again.refused].sort()).toEqual(["t20", "t7"]);
      expect(again.good.size).toBe(27);
      // 0-6, 7, 8-19, 20, 22-29: no request is split any more.
      expect(again.sent.map((r) => [r.address, r.quantity])).toEqual([
        [0, 7],
        [7, 1],
        [8, 12],
        [20, 1],
        [22, 8],
      ]);
    }
    expect(holes.version).toBe(version);
  });

  it("records a break where halves read apart but not together", async () => {
    // Registers 0-9 and 10-19 live in different blocks the device will not read across.
    const holes = new AddressHoles();
    const blockTags = [0, 9, 10, 19].map((a) => tag(`b${a}`, a));
    const device = async (req: ReadRequest) => {
      if (req.address < 10 && req.address + req.quantity > 10) {
        throw new ModbusExceptionError(1, 3, 2);
      }
      return Buffer.alloc(req.quantity * 2);
    };
    const [request] = planReads(blockTags, LIMITS, holes);
    const result = await readSplitting(request!, device, holes, () => false);
    expect(result.done.map((o) => "response" in o)).toEqual([true, true]);
    expect(holes.summary().holdingRegister).toEqual({ illegal: [], breaks: [10] });
    expect(planReads(blockTags, LIMITS, holes).map((r) => [r.address, r.quantity])).toEqual([
      [0, 10],
      [10, 10],
    ]);
  });

  it("stops splitting when the unit stops answering and returns what it did not try", async () => {
    const holes = new AddressHoles();
    let calls = 0;
    const device = async () => {
      calls++;
      throw calls === 1 ? new ModbusExceptionError(1, 3, 2) : new ModbusTimeoutError(1, 100);
    };
    const [request] = planReads(tags, LIMITS, holes);
    const result = await readSplitting(request!, device, holes, (e) => !isIllegalAddress(e));
    expect(calls).toBe(2);
    expect(result.done).toHaveLength(1);
    expect(result.done[0]?.request.tags).toHaveLength(15);
    expect(result.untried.flatMap((r) => r.tags)).toHaveLength(15);
    expect(holes.version).toBe(0);
  });

  it("keeps caps, holes and breaks in every random plan, and converges", async () => {
    const random = lcg(11);
    for (let round = 0; round < 100; round++) {
      const limits = {
        maxRegistersPerRead: 4 + Math.floor(random() * 122),
        maxBitsPerRead: 2000,
        maxGap: Math.floor(random() * 20),
      };
      const types = ["int16", "uint16", "int32", "float32", "uint64", "float64"];
      const tags = Array.from({ length: 1 + Math.floor(random() * 50) }, (_, i) =>
        tag(`r${i}`, Math.floor(random() * 400), { type: types[i % types.length] }),
      );
      const illegal = new Set(
        Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * 400)),
      );
      const holes = new AddressHoles();
      const covers = (t: TagConfig, a: number) => a >= t.address && a < t.address + tagSpan(t);
      const legal = tags.filter((t) => ![...illegal].some((a) => covers(t, a)));

      let settled = false;
      for (let p = 0; p < 8 && !settled; p++) {
        const before = holes.version;
        const result = await poll(tags, limits, holes, illegal);
        // Every tag clear of the holes reads well in every poll, from the first one.
        expect([...result.good].sort()).toEqual(legal.map((t) => t.name).sort());
        for (const req of result.sent) {
          expect(req.quantity).toBeLessThanOrEqual(limits.maxRegistersPerRead);
          for (const pt of req.tags) expect(req.address + pt.offset).toBe(pt.tag.address);
        }
        settled = holes.version === before;
      }
      expect(settled).toBe(true);
      // Once settled, only requests of one refused tag fail.
      const last = await poll(tags, limits, holes, illegal);
      const send = deviceWithHoles(illegal);
      for (const req of last.sent) {
        const refused = await send(req).then(
          () => false,
          () => true,
        );
        if (refused) expect(req.tags.every((pt) => !legal.includes(pt.tag))).toBe(true);
      }
    }
  });
});
