// Trained models on disk, one folder per version (v000001/ …) and a pointer file `current`
// naming the champion. A power cut must never leave a half-written model as the champion,
// so each version is written to a temporary folder and renamed into place, and the pointer
// is replaced by rename too.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ModelConfig } from "../config/schema.js";
import { renameDurably, replaceFile, syncDirectory, writeDurably } from "../core/durable.js";
import type { Logger } from "../core/logger.js";
import { scalerFromJson } from "../preprocess/scaler.js";
import type { CleaningSummary } from "./records.js";
import type { BandOffsets, BandQuantiles, ModelFiles, Scalers } from "./types.js";

export interface ModelMeta {
  version: string;
  createdTs: number;
  features: string[];
  target: string;
  holdoutMae: number;
  holdoutRmse: number;
  trainRows: number;
  holdoutRows: number;
  /** Time range of the aligned rows the model was trained and measured on. */
  dataFromTs: number;
  dataToTs: number;
  model: ModelConfig;
  backend: string;
  trainMs: number;
  /**
   * Every tag the model reads, features and target; a different set in the config makes the
   * model unusable. Absent in versions from before it was recorded: features + target.
   */
  tags?: string[];
  /** The model's input columns in order (a tag, or a feature derived from one). */
  columns?: string[];
  /** Residual offsets of the prediction band and the quantiles they stand for. */
  band?: BandOffsets & { quantiles: BandQuantiles };
  /** Rows the run used from the newest window and from the reservoir of older rows. */
  windowRows?: number;
  reservoirRows?: number;
  warmStarted?: boolean;
  /**
   * What cleaning dropped or repaired in the window the model saw, per tag and reason, and
   * why cells were left out (nonzero counts only). Absent in versions from before.
   */
  cleaning?: CleaningSummary;
}

export interface StoredModel {
  meta: ModelMeta;
  files: ModelFiles;
  scalers: Scalers;
}

export type NewModel = Omit<StoredModel, "meta"> & { meta: Omit<ModelMeta, "version"> };

const VERSION_RE = /^v(\d{6,})$/;
const POINTER = "current";

export function versionName(n: number): string {
  return `v${String(n).padStart(6, "0")}`;
}

export class ModelStore {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** Version folders on disk, oldest first. */
  async list(): Promise<string[]> {
    // Listing never creates the folder: `plantgate models` only reads.
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    return names
      .filter((n) => VERSION_RE.test(n))
      .sort((a, b) => versionNumber(a) - versionNumber(b));
  }

  /** Writes a new version (not yet current) and returns its name. */
  async save(model: NewModel): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const versions = await this.list();
    const last = versions.at(-1);
    const version = versionName(last ? versionNumber(last) + 1 : 1);
    const meta: ModelMeta = { ...model.meta, version };
    const tmp = join(this.dir, `.tmp-${version}-${randomBytes(4).toString("hex")}`);
    await mkdir(tmp);
    try {
      await writeDurably(join(tmp, "model.json"), JSON.stringify(modelJson(model.files)));
      await writeDurably(join(tmp, "weights.bin"), new Uint8Array(model.files.weightData));
      await writeDurably(join(tmp, "scaler.json"), JSON.stringify(model.scalers));
      if (model.files.optimizer) {
        await writeDurably(join(tmp, "optimizer.json"), JSON.stringify(model.files.optimizer));
      }
      await writeDurably(join(tmp, "meta.json"), JSON.stringify(meta, null, 2));
      await syncDirectory(tmp);
      await renameDurably(tmp, join(this.dir, version));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return version;
  }

  /** Makes `version` the champion: the pointer is replaced whole or not at all. */
  async setCurrent(version: string): Promise<void> {
    if (!VERSION_RE.test(version)) throw new Error(`not a model version name: ${version}`);
    await replaceFile(join(this.dir, POINTER), `${version}\n`);
  }

  /** The version the pointer names, or undefined without a (valid) pointer. */
  async current(): Promise<string | undefined> {
    const text = await readFile(join(this.dir, POINTER), "utf8").catch(() => undefined);
    const version = text?.trim();
    return version && VERSION_RE.test(version) ? version : undefined;
  }

  /** Deletes the oldest versions beyond `keep`, never the current one; returns them. */
  async prune(keep: number): Promise<string[]> {
    const current = await this.current();
    const versions = await this.list();
    const doomed = versions.slice(0, Math.max(0, versions.length - keep));
    const removed = doomed.filter((v) => v !== current);
    for (const version of removed) {
      await rm(join(this.dir, version), { recursive: true, force: true });
    }
    // Temporary folders left by a save that a crash interrupted; saves never overlap prune.
    const stale = (await readdir(this.dir)).filter((n) => n.startsWith(".tmp-"));
    for (const name of stale) await rm(join(this.dir, name), { recursive: true, force: true });
    return removed;
  }

  /** The meta of one version, without reading its weights. */
  async readMeta(version: string): Promise<ModelMeta> {
    const path = join(this.dir, version, "meta.json");
    const meta = JSON.parse(await readFile(path, "utf8")) as ModelMeta;
    if (meta.version !== version) throw new Error(`${path} does not describe ${version}`);
    return meta;
  }

  async load(version: string): Promise<StoredModel> {
    const folder = join(this.dir, version);
    const modelJson = JSON.parse(await readFile(join(folder, "model.json"), "utf8"));
    const weights = await readFile(join(folder, "weights.bin"));
    const scalerData = JSON.parse(await readFile(join(folder, "scaler.json"), "utf8"));
    const meta = JSON.parse(await readFile(join(folder, "meta.json"), "utf8")) as ModelMeta;
    const weightSpecs = modelJson.weightsManifest?.[0]?.weights;
    if (!modelJson.modelTopology || !Array.isArray(weightSpecs)) {
      throw new Error(`${folder}/model.json lacks modelTopology or weightsManifest`);
    }
    if (meta.version !== version || !Array.isArray(meta.features)) {
      throw new Error(`${folder}/meta.json does not describe version ${version}`);
    }
    const needed = weightBytes(weightSpecs);
    if (needed !== undefined && weights.length !== needed) {
      throw new Error(
        `${folder}/weights.bin has ${weights.length} bytes, its manifest needs ${needed}: ` +
          "the file is truncated or damaged",
      );
    }
    return {
      meta,
      files: {
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
        optimizer: await readOptimizer(folder),
      },
      scalers: {
        features: scalerFromJson(scalerData?.features),
        target: scalerFromJson(scalerData?.target),
      },
    };
  }

  /**
   * The versions to try as champion, best first: the current one, then the older ones,
   * newest first (a newer version was never promoted). Without a valid pointer, every
   * version, newest first. See champion-disk.ts.
   */
  async championCandidates(): Promise<string[]> {
    const versions = await this.list();
    const current = await this.current();
    if (current === undefined && versions.length > 0) {
      this.logger.warn({ dir: this.dir }, "model pointer missing or unreadable");
    }
    const limit = current ? versionNumber(current) : Infinity;
    return versions.filter((v) => versionNumber(v) <= limit).reverse();
  }
}

function versionNumber(version: string): number {
  return Number(VERSION_RE.exec(version)?.[1] ?? Number.NaN);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Bytes the weights of a manifest take; undefined when a dtype has no fixed size. */
function weightBytes(specs: readonly { shape?: unknown; dtype?: unknown }[]): number | undefined {
  let bytes = 0;
  for (const spec of specs) {
    const size = DTYPE_BYTES[String(spec.dtype ?? "float32")];
    if (size === undefined) return undefined;
    const shape = Array.isArray(spec.shape) ? (spec.shape as number[]) : [];
    bytes += size * shape.reduce((n, d) => n * d, 1);
  }
  return bytes;
}

/** A version saved without optimizer state (or with a damaged one) warm-starts weights only. */
async function readOptimizer(folder: string): Promise<ModelFiles["optimizer"]> {
  try {
    const state = JSON.parse(await readFile(join(folder, "optimizer.json"), "utf8"));
    return Array.isArray(state) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The same layout tfjs writes for file:// saves, so the files load with stock tools. */
function modelJson(files: ModelFiles): object {
  return {
    format: "layers-model",
    generatedBy: "plantgate",
    modelTopology: files.modelTopology,
    weightsManifest: [{ paths: ["weights.bin"], weights: files.weightSpecs }],
  };
}
