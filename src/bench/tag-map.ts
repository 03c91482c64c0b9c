// A realistic tag map for the acquisition figures: 1,000 tags of float32, uint16 and int32
// over four devices of five groups each, with small gaps between tags as real register maps
// have (spare registers, status words nobody reads). One group per device is input
// registers. Gaps come from a seeded generator, so every run plans the same requests.

import { type ConnectionConfig, connectionSchema } from "../config/schema.js";
import { buildReadRequest } from "../sources/modbus/codec.js";
import { planReads } from "../sources/modbus/planner.js";
import type { PduRequest } from "../sources/modbus/transport.js";

const DEVICES = 4;
const GROUPS_PER_DEVICE = 5;
const TAGS_PER_GROUP = 50;
const TYPES = ["float32", "uint16", "int32"] as const;

export const TAG_COUNT = DEVICES * GROUPS_PER_DEVICE * TAGS_PER_GROUP;

export interface TagMapOptions {
  port: number;
  /** One request per tag, for devices that misanswer multi-register reads. */
  singleRegisterReads?: boolean;
  /** Each device's maxInFlight (pipelining); default 1. */
  maxInFlight?: number;
  /** Short enough that demand exceeds what the connection serves: the queue never idles. */
  pollIntervalMs?: number;
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state;
  };
}

function groupTags(device: number, group: number, next: () => number, base = group * 1000) {
  let address = base;
  return Array.from({ length: TAGS_PER_GROUP }, (_, t) => {
    const type = TYPES[(t + group) % TYPES.length] as (typeof TYPES)[number];
    const tag = {
      name: `d${device}g${group}t${t}`,
      table: group === GROUPS_PER_DEVICE - 1 ? "inputRegister" : "holdingRegister",
      address,
      type,
    };
    address += (type === "uint16" ? 1 : 2) + (next() % 3);
    return tag;
  });
}

/** The connection of the tag map, parsed by the config schema like a user's. */
export function tagMapConnection(options: TagMapOptions): ConnectionConfig {
  const next = seeded(42);
  const devices = Array.from({ length: DEVICES }, (_, d) => ({
    name: `plc${d + 1}`,
    unitId: d + 1,
    singleRegisterReads: options.singleRegisterReads ?? false,
    maxInFlight: options.maxInFlight ?? 1,
    groups: Array.from({ length: GROUPS_PER_DEVICE }, (_, g) => ({
      name: `g${g}`,
      pollIntervalMs: options.pollIntervalMs ?? 5,
      tags: groupTags(d, g, next),
    })),
  }));
  return connectionSchema.parse({ name: "bench", host: "127.0.0.1", port: options.port, devices });
}

/**
 * Registers a read of the one-device map spans: small, so that at the shortest poll
 * interval (5 ms) the map asks for more requests than one connection serves, and the
 * figure is the connection's rate rather than the schedule's.
 */
const ONE_DEVICE_MAX_REGISTERS = 8;

/**
 * The same 1,000 tags as one device's map (unit 1, twenty groups on registers of their own),
 * read in reads of at most 16 registers: a single PLC, which gains from pipelining only if
 * its own requests overlap.
 */
export function oneDeviceConnection(options: TagMapOptions): ConnectionConfig {
  const next = seeded(42);
  const groups = Array.from({ length: DEVICES * GROUPS_PER_DEVICE }, (_, k) => {
    const d = Math.floor(k / GROUPS_PER_DEVICE);
    const g = k % GROUPS_PER_DEVICE;
    const tags = groupTags(d, g, next, k * 1000);
    return { name: `g${k}`, pollIntervalMs: options.pollIntervalMs ?? 5, tags };
  });
  const device = {
    name: "plc",
    unitId: 1,
    maxInFlight: options.maxInFlight ?? 1,
    maxRegistersPerRead: ONE_DEVICE_MAX_REGISTERS,
    groups,
  };
  return connectionSchema.parse({
    name: "bench",
    host: "127.0.0.1",
    port: options.port,
    devices: [device],
  });
}

/** The group a reading's tag (`plc1.d0g3t17`) belongs to: `plc1.d0g3`. */
export function groupOf(readingTag: string): string {
  return readingTag.slice(0, readingTag.lastIndexOf("t"));
}

/** Per group (keyed as `groupOf` names it): its tags and the requests the planner makes. */
export function planByGroup(
  connection: ConnectionConfig,
): Map<string, { tags: number; requests: number }> {
  const plan = new Map<string, { tags: number; requests: number }>();
  for (const device of connection.devices) {
    for (const group of device.groups) {
      const first = group.tags[0]?.name ?? "";
      plan.set(groupOf(`${device.name}.${first}`), {
        tags: group.tags.length,
        requests: planReads(group.tags, device).length,
      });
    }
  }
  return plan;
}

/** The read requests of one cycle of every group, as the planner merges them. */
export function plannedRequests(connection: ConnectionConfig): PduRequest[] {
  return connection.devices.flatMap((device) =>
    device.groups.flatMap((group) =>
      planReads(group.tags, device).map((r) => ({
        unitId: device.unitId,
        functionCode: r.functionCode,
        payload: buildReadRequest(r.functionCode, r.address, r.quantity),
        timeoutMs: 1000,
      })),
    ),
  );
}
