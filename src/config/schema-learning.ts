// The config's learning section: the target, features, cleaning, counters and the model.
// Part of schema.ts, the root.

import { z } from "zod";

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
