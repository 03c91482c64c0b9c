// The champion: the model predictions come from. A stored model serves only the config it
// was trained for: another target, another tag set or other input columns would feed it
// numbers it never saw, and it would predict confidently wrong values.

import type { LearningConfig } from "../config/schema.js";
import { buildDataset, datasetTags } from "../preprocess/dataset.js";
import type { ModelMeta } from "./model-store.js";
import type { LayersModel } from "./network.js";
import type { ChampionInput, ModelFiles, Scalers } from "./types.js";

export interface Champion {
  meta: ModelMeta;
  network: LayersModel;
  /** The network as plain arithmetic, when it is a dense stack (see denseForward). */
  forward?: (row: number[]) => number;
  scalers: Scalers;
  files: ModelFiles;
}

/** What the config asks of a model. */
export interface ExpectedInputs {
  target: string;
  /** Every tag read: features and target. */
  tags: string[];
  /** Input columns in order. */
  columns: string[];
}

/** The tags and columns this config feeds a model: the dataset's, so they never disagree. */
export function expectedInputs(
  config: LearningConfig,
  features: readonly string[],
): ExpectedInputs {
  const { columns } = buildDataset(new Map(), config, features);
  return { target: config.target, tags: datasetTags(config, features), columns };
}

export function modelTags(meta: ModelMeta): string[] {
  return meta.tags ?? [...meta.features, meta.target];
}

export function modelColumns(meta: ModelMeta): string[] {
  return meta.columns ?? meta.features;
}

/** Why a stored model cannot serve this config, or undefined when it can. */
export function incompatibility(meta: ModelMeta, expected: ExpectedInputs): string | undefined {
  if (meta.target !== expected.target) {
    return `it predicts ${meta.target}, the config asks for ${expected.target}`;
  }
  const have = [...modelTags(meta)].sort().join(", ");
  const want = [...expected.tags].sort().join(", ");
  if (have !== want) return `its tag set [${have}] differs from the config's [${want}]`;
  const columns = modelColumns(meta);
  if (columns.join("\n") !== expected.columns.join("\n")) {
    const wanted = expected.columns.join(", ");
    return `its input columns [${columns.join(", ")}] differ from [${wanted}]`;
  }
  return undefined;
}

export class ModelRefusedError extends Error {
  constructor(
    readonly version: string,
    readonly why: string,
  ) {
    super(`model ${version} refused: ${why}`);
    this.name = "ModelRefusedError";
  }
}

export function championInput(champion: Champion): ChampionInput {
  return {
    files: champion.files,
    scalers: champion.scalers,
    model: champion.meta.model,
    columns: modelColumns(champion.meta),
  };
}
