// The config's connections: Modbus TCP, RTU and RTU over TCP, each with its devices (unit
// id), their groups (poll interval) and tags. Part of schema.ts, the root.

import { z } from "zod";
import { name, reconnectSchema, serialLine } from "./schema-common.js";

export const TABLES = ["coil", "discreteInput", "inputRegister", "holdingRegister"] as const;
export const TYPES = [
  "bool",
  "bit",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "string",
] as const;
export const ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"] as const;

export const tagSchema = z
  .strictObject({
    name,
    table: z.enum(TABLES).default("holdingRegister"),
    /** Address in the device's addressBase (zero-based by default). */
    address: z.number().int().min(0).max(65536),
    /**
     * bool: a coil or discrete input; bit: one bit of a register (see `bit`); string: `length`
     * registers of ASCII, two characters each, NULs trimmed. 64-bit integers stay exact.
     */
    type: z.enum(TYPES).optional(),
    /** ABCD big-endian; DCBA all reversed; BADC bytes swapped per register; CDAB words swapped. */
    order: z.enum(ORDERS).default("ABCD"),
    /** For type bit: the bit of the register, 0 = least significant. */
    bit: z.number().int().min(0).max(15).optional(),
    /** For type string: its length in registers. */
    length: z.number().int().min(1).max(125).optional(),
    scale: z.number().default(1),
    offset: z.number().default(0),
    unit: z.string().optional(),
    /** Report by exception: a new value is stored only when it moves more than this. */
    deadband: z.number().min(0).optional(),
    /** With a deadband: store a value at least this often even when it has not moved. */
    maxSilentMs: z.number().int().min(1).optional(),
  })
  .superRefine((tag, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    const bitTable = isBitTable(tag.table);
    if (bitTable && tag.type !== undefined && tag.type !== "bool")
      issue("type", `a ${tag.table} holds one bit: use type bool`);
    if (!bitTable && tag.type === "bool") {
      issue(
        "type",
        "type bool needs table coil or discreteInput (for a register bit use type bit)",
      );
    }
    if ((tag.type === "bit") !== (tag.bit !== undefined)) {
      issue("bit", tag.type === "bit" ? "type bit needs bit: 0..15" : "bit is only for type bit");
    }
    if ((tag.type === "string") !== (tag.length !== undefined)) {
      issue(
        "length",
        tag.type === "string" ? "type string needs length" : "length is only for type string",
      );
    }
    if (tag.maxSilentMs !== undefined && tag.deadband === undefined) {
      issue("maxSilentMs", "maxSilentMs needs a deadband");
    }
  })
  // The type defaults by table: bool for a bit, uint16 for a register.
  .transform((tag) => ({ ...tag, type: tag.type ?? (isBitTable(tag.table) ? "bool" : "uint16") }));

function isBitTable(table: (typeof TABLES)[number]): boolean {
  return table === "coil" || table === "discreteInput";
}

export const groupSchema = z.strictObject({
  name: name.default("default"),
  pollIntervalMs: z.number().int().min(5).default(1000),
  tags: z.array(tagSchema).min(1),
});

export const degradeSchema = z.strictObject({
  /** Consecutive failed polls after which the unit is skipped for a while. */
  afterFailures: z.number().int().min(1).default(3),
  /** The first skip; each failed probe doubles it, up to maxSkipMs. */
  skipMs: z.number().int().min(1).default(5000),
  maxSkipMs: z.number().int().min(1).default(60000),
});

export const deviceSchema = z.strictObject({
  name,
  unitId: z.number().int().min(0).max(255).default(1),
  /** Per-device override of the connection's timeout. */
  timeoutMs: z.number().int().min(1).optional(),
  /**
   * Extra attempts of a request that timed out (or that a gateway answered with exception 11,
   * its own timeout), before its readings go bad; none while the unit has not answered its
   * last poll, so a dead unit costs one timeout per poll.
   */
  retries: z.number().int().min(0).max(5).default(0),
  /** 0: addresses are protocol addresses; 1: address 1 means protocol address 0. */
  addressBase: z.union([z.literal(0), z.literal(1)]).default(0),
  /** Pause after each request to this device, for devices that need a rest. */
  requestDelayMs: z.number().int().min(0).default(0),
  /** Registers a single read may span (the Modbus limit is 125). */
  maxRegistersPerRead: z.number().int().min(1).max(125).default(125),
  /** Bits a single read of coils or discrete inputs may span (the Modbus limit is 2000). */
  maxBitsPerRead: z.number().int().min(1).max(2000).default(2000),
  /** Unused registers a merged read may include to save a request. */
  maxGap: z.number().int().min(0).max(124).default(10),
  /** One register (or bit) per request, for devices that misanswer multi-register reads. */
  singleRegisterReads: z.boolean().default(false),
  /**
   * Requests to this device outstanding at once (pipelining), for Modbus TCP devices that
   * accept several transactions in flight on one connection. 1 on RTU: a bus carries one.
   */
  maxInFlight: z.number().int().min(1).max(16).default(1),
  /** Skip a unit that keeps failing, so it does not slow the others on its connection. */
  degrade: degradeSchema.prefault({}),
  groups: z.array(groupSchema).min(1),
});

const connectionCommon = {
  name,
  /** Keep it below the poll intervals: a dead unit holds the shared queue this long. */
  timeoutMs: z.number().int().min(1).default(500),
  reconnect: reconnectSchema.prefault({}),
  devices: z.array(deviceSchema).min(1),
};

/** Silence between RTU frames; default 3.5 characters at the baud rate (1.75 ms above 19200). */
const frameGapMs = z.number().min(0).optional();

export const tcpConnectionSchema = z.strictObject({
  ...connectionCommon,
  type: z.literal("tcp"),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  /**
   * Transactions in flight on this connection over all its devices: the server's own limit
   * (a gateway that queues several). Default: the largest of its devices' maxInFlight.
   */
  maxInFlight: z.number().int().min(1).max(16).optional(),
});

export const rtuConnectionSchema = z.strictObject({
  ...connectionCommon,
  ...serialLine,
  /** RTU characters carry 8 data bits; 7 is Modbus ASCII, which plantgate does not speak. */
  dataBits: z
    .literal(8, { error: "Modbus RTU has 8 data bits (7 is Modbus ASCII, not supported)" })
    .default(8),
  type: z.literal("rtu"),
  frameGapMs,
  /** Discard the adapter's echo of each request (half-duplex adapters that echo). */
  echo: z.boolean().default(false),
});

export const rtuOverTcpConnectionSchema = z.strictObject({
  ...connectionCommon,
  type: z.literal("rtuOverTcp"),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  frameGapMs,
});

/** `type` may be left out and means tcp. */
export const connectionSchema = z.preprocess(
  (v) => (v && typeof v === "object" && !("type" in v) ? { ...v, type: "tcp" } : v),
  z.discriminatedUnion("type", [
    tcpConnectionSchema,
    rtuConnectionSchema,
    rtuOverTcpConnectionSchema,
  ]),
);
