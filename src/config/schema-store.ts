// The config's buffer (store: commits, queue, retention, rollups) and clock checks. Part of
// schema.ts, the root.

import { z } from "zod";

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
