// The one source of truth for plantgate's configuration: types, defaults and validation.
// Every object is strict (unknown keys are errors); `plantgate schema` prints it as JSON
// Schema. Shape: connections → devices (unit id) → groups (poll interval) → tags; serial
// ASCII sensors → fields.

import { z } from "zod";

const name = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "letters, digits, '_' or '-', starting with a letter");

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

export const reconnectSchema = z.strictObject({
  initialDelayMs: z.number().int().min(1).default(500),
  maxDelayMs: z.number().int().min(1).default(30000),
});

const connectionCommon = {
  name,
  /** Keep it below the poll intervals: a dead unit holds the shared queue this long. */
  timeoutMs: z.number().int().min(1).default(500),
  reconnect: reconnectSchema.prefault({}),
  devices: z.array(deviceSchema).min(1),
};

const serialLine = {
  /** Device path; /dev/serial/by-id/... names survive re-plugging. */
  path: z.string().min(1),
  baudRate: z.number().int().min(50).default(9600),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
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

export const sensorFieldSchema = z.strictObject({
  name,
  /** csv: the field's position, 0 = first. */
  index: z.number().int().min(0).optional(),
  /** keyValue: the key; regex: the named group. Default: the field's name. */
  key: z.string().optional(),
  scale: z.number().default(1),
  offset: z.number().default(0),
  unit: z.string().optional(),
});

export const sensorSchema = z
  .strictObject({
    name,
    ...serialLine,
    /** Frames end with this; \r before it is dropped. */
    delimiter: z.string().min(1).default("\n"),
    format: z.enum(["csv", "keyValue", "regex"]),
    /** csv: between fields; keyValue: between pairs. */
    separator: z.string().min(1).default(","),
    /** keyValue: between a key and its value. */
    assign: z.string().min(1).default("="),
    /** regex: a pattern with named groups. */
    pattern: z.string().optional(),
    /** nmea: `*HH` at the end is the XOR of the characters between `$` and `*`. */
    checksum: z.enum(["none", "nmea"]).default("none"),
    /**
     * A sensor that sends no good frame for this long while its port is open is reported
     * down and its fields stored bad (timeout). Unset: silence is not noticed.
     */
    timeoutMs: z.number().int().min(1).optional(),
    reconnect: reconnectSchema.prefault({}),
    fields: z.array(sensorFieldSchema).min(1),
  })
  .superRefine((s, ctx) => {
    if (s.format === "regex" && !s.pattern) {
      ctx.addIssue({ code: "custom", path: ["pattern"], message: "format regex needs a pattern" });
    }
    if (s.format === "csv") {
      s.fields.forEach((f, i) => {
        if (f.index === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["fields", i, "index"],
            message: "csv fields need an index",
          });
        }
      });
    }
  });

export const storeSchema = z.strictObject({
  /** Database file; relative paths are resolved against `stateDir`. */
  path: z.string().default("plantgate.db"),
  /** Commit interval: what a crash can lose, against SD-card wear (see the README). */
  flushIntervalMs: z.number().int().min(1).default(1000),
  batchSize: z.number().int().min(1).default(1000),
  /** Readings held in memory while the database cannot take them; beyond it the oldest drop. */
  queueCapacity: z.number().int().min(1).default(100000),
  synchronous: z.enum(["off", "normal", "full"]).default("normal"),
  retention: z
    .strictObject({
      /** Readings older than this are deleted (oldest first); 0 keeps them forever. */
      maxAgeHours: z
        .number()
        .min(0)
        .default(24 * 30),
      /** The database is kept under this size, oldest readings first. */
      maxSizeMb: z.number().positive().default(1024),
      /**
       * Past maxSizeMb, readings a consumer (the uplink) has not taken yet are kept, until
       * this hard cap forces their deletion too: counted, logged and raised.
       */
      hardCapMb: z.number().positive().default(2048),
      checkIntervalMs: z.number().int().min(100).default(60000),
      /** Rows deleted per transaction, so that retention never stalls ingest. */
      chunkRows: z.number().int().min(1).default(5000),
      /** Events older than this are deleted; 0 keeps them forever. */
      eventsMaxAgeDays: z.number().min(0).default(365),
      /** At most this many events are kept, the oldest deleted first; 0: no limit. */
      maxEvents: z.number().int().min(0).default(100000),
    })
    .prefault({}),
  rollup: z
    .strictObject({
      /**
       * Per-tag buckets (count, bad, min, mean, max) computed from the raw readings at each
       * retention check, always before raw readings are deleted, and kept longer.
       */
      enabled: z.boolean().default(true),
      /** Bucket length; buckets start at whole multiples of it (UTC). */
      bucketMs: z.number().int().min(1000).default(60000),
      /** Buckets older than this are deleted; 0 keeps them forever. */
      maxAgeDays: z.number().min(0).default(365),
    })
    .prefault({}),
});

export const clockSchema = z.strictObject({
  /** Wall clock against monotonic clock: a difference beyond this is a clock jump. */
  jumpThresholdMs: z.number().int().min(1).default(2000),
  checkIntervalMs: z.number().int().min(10).default(1000),
  /**
   * The clock counts as synchronized once this file exists (systemd-timesyncd writes it);
   * readings taken before are marked. Empty: trust the clock from the start.
   */
  syncedFile: z.string().default("/run/systemd/timesync/synchronized"),
});

export const modelSchema = z.strictObject({
  kind: z.enum(["linear", "mlp"]).default("mlp"),
  hiddenUnits: z.array(z.number().int().min(1).max(256)).default([16]),
  epochs: z.number().int().min(1).default(100),
  batchSize: z.number().int().min(1).default(64),
  /**
   * Caps the gradient steps of one run: on a large window fewer epochs reach the same error,
   * and a gateway's CPU is shared with polling.
   */
  maxSteps: z.number().int().min(1).default(3000),
  learningRate: z.number().positive().default(0.01),
  /** `cosine`: the rate falls from learningRate to nearly 0 over a run's steps. */
  learningRateSchedule: z.enum(["constant", "cosine"]).default("constant"),
  /** Penalty on the squared kernel weights, added to the mean squared error. */
  l2: z.number().min(0).default(0),
  /**
   * Networks trained side by side from different initial weights, their predictions
   * averaged: steadier and a little more accurate, for N times the training time.
   */
  ensemble: z.number().int().min(1).max(8).default(1),
});

export const tagPreprocessSchema = z.strictObject({
  tag: z.string().min(1),
  /** Values outside [min, max] are implausible: dropped and counted. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** The same value for this long marks the sensor stuck: those values are left out. */
  stuckAfterMs: z.number().int().min(1).optional(),
  /** Outliers: further than `threshold` × MAD from the rolling median of `windowRows`. */
  outlier: z
    .strictObject({
      windowRows: z.number().int().min(3).default(31),
      threshold: z.number().positive().default(5),
      action: z.enum(["clip", "drop"]).default("clip"),
    })
    .optional(),
  /** How the readings within one grid cell become its value. */
  resample: z.enum(["last", "mean", "min", "max"]).default("last"),
  /** A missing cell: carried forward, or interpolated between known neighbours. */
  fill: z.enum(["forward", "linear"]).default("forward"),
});

export const counterSchema = z.strictObject({
  tag: z.string().min(1),
  /** Width of the PLC counter: a drop from near the top to near zero is a rollover. */
  bits: z.union([z.literal(16), z.literal(32), z.literal(64)]).default(32),
  /**
   * The most the counter can rise per second. A rise beyond it, or a rollover implying one,
   * is read as a reset. Unset: a rollover must fit four times the counter's recent pace.
   */
  maxIncreasePerSecond: z.number().positive().optional(),
});

export const learningSchema = z
  .strictObject({
    /** The tag to predict, `device.tag`; with `formula`, the name of the computed target. */
    target: z.string().min(1),
    /**
     * The target as an expression over tags, e.g. `rate(line.goodParts) * 60` or
     * `100 * line.good / (line.good + line.scrap)`; parsed, never run as JavaScript.
     */
    formula: z.string().min(1).optional(),
    /** Input tags; default: every numeric tag except the target. */
    features: z.array(z.string().min(1)).optional(),
    /** Tags that are counters: used as deltas per grid step, across rollovers and resets. */
    counters: z.array(counterSchema).default([]),
    /** Per-tag cleaning; tags not listed are resampled with `last` and filled forward. */
    preprocessing: z.array(tagPreprocessSchema).default([]),
    /** Extra inputs computed from each feature over the last `windows` grid rows, and lags. */
    derived: z
      .strictObject({
        windows: z.array(z.number().int().min(2)).default([]),
        stats: z.array(z.enum(["mean", "std", "min", "max", "slope"])).default([]),
        lags: z.array(z.number().int().min(1)).default([]),
      })
      .prefault({}),
    /** Step of the common time grid every tag is aligned onto. */
    gridMs: z.number().int().min(1).default(1000),
    /** Grid steps a missing value may be filled; beyond it the row is left out. */
    maxFillSteps: z.number().int().min(0).default(3),
    /** Aligned rows needed before the first model is trained. */
    minRows: z.number().int().min(10).default(300),
    /** Newest aligned rows a training run uses. */
    windowRows: z.number().int().min(10).default(20000),
    /** Older rows kept as a uniform sample beside the window, so old regimes are not forgotten. */
    reservoirRows: z.number().int().min(0).default(2000),
    /** Newest share of the window held out to measure the model. */
    holdoutFraction: z.number().gt(0).lt(1).default(0.2),
    retrainIntervalMs: z.number().int().min(1000).default(3600000),
    /** Also retrain once this many new aligned rows arrived. */
    retrainAfterRows: z.number().int().min(1).optional(),
    /** A challenger replaces the champion only if its holdout MAE is lower by this share. */
    promoteMargin: z.number().min(0).lt(1).default(0.02),
    /** Start a retrain from the champion's weights. */
    warmStart: z.boolean().default(true),
    /** Leave rows out of training while a rule is in alarm, so a fault is not learned. */
    excludeAlarms: z.boolean().default(false),
    /** Page-Hinkley on the absolute residual, once the real target is known. */
    drift: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Tolerated change, in target units. */
        delta: z.number().min(0).default(0.5),
        /** Alarm level of the cumulative statistic, in target units. */
        threshold: z.number().positive().default(50),
        minSamples: z.number().int().min(1).default(30),
      })
      .prefault({}),
    /** The prediction band, as quantiles of the holdout residuals. */
    band: z
      .strictObject({
        lower: z.number().gt(0).lt(0.5).default(0.05),
        upper: z.number().gt(0.5).lt(1).default(0.95),
      })
      .prefault({}),
    /** Model versions kept on disk. */
    keepVersions: z.number().int().min(1).default(5),
    model: modelSchema.prefault({}),
  })
  .superRefine((l, ctx) => {
    l.preprocessing.forEach((p, i) => {
      if (p.min !== undefined && p.max !== undefined && p.min >= p.max) {
        ctx.addIssue({
          code: "custom",
          path: ["preprocessing", i, "max"],
          message: "max must exceed min",
        });
      }
    });
  });

const levelsSchema = z
  .strictObject({ warning: z.number().optional(), alarm: z.number().optional() })
  .refine((l) => l.warning !== undefined || l.alarm !== undefined, {
    message: "give a warning level, an alarm level or both",
  });

export const ruleSchema = z
  .strictObject({
    name,
    /** "prediction" (the model's predicted target) or a tag name. */
    signal: z.string().default("prediction"),
    below: levelsSchema.optional(),
    above: levelsSchema.optional(),
    /** The signal must come back past a level by this much before the severity drops. */
    hysteresis: z.number().min(0).default(0),
    /** A new severity must hold this long before it is raised or cleared. */
    debounceMs: z.number().int().min(0).default(5000),
  })
  .refine((r) => (r.below === undefined) !== (r.above === undefined), {
    message: "give exactly one of below or above",
  })
  .superRefine((r, ctx) => {
    // Falling through a "below" rule, the warning must come before the alarm (and the
    // other way round for "above"); else the alarm would be raised first.
    const levels = r.below ?? r.above;
    if (levels?.warning === undefined || levels.alarm === undefined) return;
    const ordered = r.below ? levels.alarm < levels.warning : levels.alarm > levels.warning;
    if (!ordered) {
      const side = r.below ? "below" : "above";
      const must = r.below ? "lower" : "higher";
      ctx.addIssue({
        code: "custom",
        path: [side, "alarm"],
        message: `the alarm level must be ${must} than the warning level`,
      });
    }
  });

export const SEVERITIES = ["ok", "warning", "alarm"] as const;

export const outputLineSchema = z.strictObject({
  name,
  /** GPIO line number (BCM numbering on a Raspberry Pi; sysfs numbers can reach 1023). */
  gpio: z.number().int().min(0).max(1023),
  /**
   * States at which the line is driven active: severities, and `unknown` for a lamp that
   * says the rule cannot judge (its signal is missing, e.g. no prediction while a device is
   * down). A line not active on unknown sits at its safe level then.
   */
  activeOn: z.array(z.enum([...SEVERITIES, "unknown"])).min(1),
  /** Electrical level that means active. */
  activeLevel: z.union([z.literal(0), z.literal(1)]).default(1),
  /** Level at start, on stop and whenever the state is unknown. */
  safeLevel: z.union([z.literal(0), z.literal(1)]).default(0),
  /** Rule whose severity drives the line; default: the worst of all rules. */
  rule: z.string().optional(),
});

export const outputsSchema = z.strictObject({
  /** auto: real GPIO through onoff where the kernel offers it, else virtual. */
  driver: z.enum(["auto", "onoff", "virtual"]).default("auto"),
  /** File where the virtual driver records its line levels; relative to `stateDir`. */
  stateFile: z.string().default("outputs.json"),
  lines: z.array(outputLineSchema).default([]),
});

export const simulatorSchema = z.strictObject({
  enabled: z.boolean().default(false),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(1).max(65535).default(5020),
  unitId: z.number().int().min(1).max(247).default(1),
  seed: z.number().int().default(1),
  /** The simulated line advances one step per interval. */
  stepMs: z.number().int().min(1).default(1000),
  /** First degradation episode, from start. */
  firstEpisodeAfterMs: z.number().int().min(0).default(75000),
  episodeEveryMs: z.number().int().min(1000).default(300000),
  episodeDurationMs: z.number().int().min(1000).default(60000),
});

export const configSchema = z.strictObject({
  gateway: z
    .strictObject({
      name: z.string().default("plantgate"),
      /** Database, models, control socket and output state live here. */
      stateDir: z.string().default("/var/lib/plantgate"),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
      /** A status line with the daemon's counters is logged at info this often; 0: never. */
      statusIntervalMs: z.number().int().min(0).default(60000),
    })
    .prefault({}),
  connections: z.array(connectionSchema).default([]),
  /** Serial ASCII sensors: line-delimited frames, parsed into fields. */
  sensors: z.array(sensorSchema).default([]),
  store: storeSchema.prefault({}),
  clock: clockSchema.prefault({}),
  learning: learningSchema.optional(),
  alerts: z.strictObject({ rules: z.array(ruleSchema).default([]) }).prefault({}),
  outputs: outputsSchema.prefault({}),
  simulator: simulatorSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConnectionConfig = Config["connections"][number];
export type TcpConnectionConfig = z.output<typeof tcpConnectionSchema>;
export type RtuConnectionConfig = z.output<typeof rtuConnectionSchema>;
export type RtuOverTcpConnectionConfig = z.output<typeof rtuOverTcpConnectionSchema>;
export type SensorConfig = Config["sensors"][number];
export type SensorFieldConfig = SensorConfig["fields"][number];
export type DeviceConfig = ConnectionConfig["devices"][number];
export type GroupConfig = DeviceConfig["groups"][number];
export type TagConfig = GroupConfig["tags"][number];
export type TagTable = (typeof TABLES)[number];
export type TagType = (typeof TYPES)[number];
export type ByteOrder = (typeof ORDERS)[number];
export type StoreConfig = Config["store"];
export type ClockConfig = Config["clock"];
export type LearningConfig = NonNullable<Config["learning"]>;
export type ModelConfig = LearningConfig["model"];
export type RuleConfig = Config["alerts"]["rules"][number];
export type Severity = (typeof SEVERITIES)[number];
export type OutputsConfig = Config["outputs"];
export type OutputLineConfig = OutputsConfig["lines"][number];
export type SimulatorConfig = Config["simulator"];

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input" });
}
