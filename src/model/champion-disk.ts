// The champion on disk. At start: the version `current` names, or when that one cannot
// serve (a truncated weights.bin, a damaged file, another tag set) the newest older version
// that can. A model that cannot be loaded never stops the gateway: without any usable
// version the learner starts with "no model yet" and trains one, while polling goes on.
// After a run: a promoted challenger is loaded back, saved, and made current.

import type { LearningConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";
import type { Tf } from "./backend.js";
import {
  type Champion,
  type ExpectedInputs,
  incompatibility,
  ModelRefusedError,
  modelTags,
} from "./champion.js";
import type { ModelMeta, ModelStore, StoredModel } from "./model-store.js";
import { denseForward, loadNetwork } from "./network.js";
import { cleaningSummary, type PromotionContext } from "./records.js";

export interface LoaderDeps {
  store: ModelStore;
  tf: Tf;
  expected: ExpectedInputs;
  logger: Logger;
  events: EventSink;
  clock: Clock;
}

/** Checks a stored model against the config and builds its network; throws if it cannot. */
export async function toChampion(deps: LoaderDeps, stored: StoredModel): Promise<Champion> {
  const { meta } = stored;
  const why = incompatibility(meta, deps.expected);
  if (why) {
    deps.logger.warn(
      { version: meta.version, modelTags: modelTags(meta), configTags: deps.expected.tags },
      `model refused: ${why}; a new one will be trained`,
    );
    throw new ModelRefusedError(meta.version, why);
  }
  const network = await loadNetwork(deps.tf, stored.files);
  try {
    const forward = denseForward(network);
    return { meta, network, forward, scalers: stored.scalers, files: stored.files };
  } catch (err) {
    network.dispose();
    throw err;
  }
}

/**
 * The current version as a champion, else the newest older one that loads and suits the
 * config; each one passed over is logged and recorded as a `model.unusable` event. The
 * pointer is left as it is: the next promotion moves it, and `plantgate models` still shows
 * which version was meant.
 */
export async function loadChampion(deps: LoaderDeps): Promise<Champion | undefined> {
  const { store, logger } = deps;
  const current = await store.current();
  for (const version of await store.championCandidates()) {
    try {
      const champion = await toChampion(deps, await store.load(version));
      if (version !== current) logger.warn({ version, current }, "fell back to model");
      return champion;
    } catch (err) {
      unusable(deps, version, err);
    }
  }
  return undefined;
}

function unusable(deps: LoaderDeps, version: string, err: unknown): void {
  const refused = err instanceof ModelRefusedError;
  const reason = refused ? err.why : err instanceof Error ? err.message : String(err);
  // A refusal was logged with the tag sets where it was decided.
  if (!refused) deps.logger.error({ version, err: reason }, "model unusable: cannot be loaded");
  deps.events.event({
    ts: deps.clock.now(),
    kind: "model.unusable",
    source: "learner",
    message: `model ${version} not used: ${reason}`,
    data: { version, reason, refused },
  });
}

/**
 * Saves a challenger as a new version and makes it current; returns it as the champion.
 * It is loaded back first: a model that does not load must not become current. Old
 * versions are pruned by the caller, once the champion is swapped in.
 */
export async function saveChampion(
  deps: LoaderDeps,
  config: LearningConfig,
  context: PromotionContext,
): Promise<Champion> {
  const { store, clock } = deps;
  const { files, scalers } = context.result;
  const meta = championMeta(config, deps.expected, context, clock.now());
  const network = await loadNetwork(deps.tf, files);
  try {
    const version = await store.save({ files, scalers, meta });
    await store.setCurrent(version);
    const forward = denseForward(network);
    return { meta: { ...meta, version }, network, forward, scalers, files };
  } catch (err) {
    network.dispose();
    throw err;
  }
}

function championMeta(
  config: LearningConfig,
  expected: ExpectedInputs,
  context: PromotionContext,
  createdTs: number,
): Omit<ModelMeta, "version"> {
  const { result, data } = context;
  const { metrics } = result;
  return {
    createdTs,
    features: data.request.features,
    target: config.target,
    tags: expected.tags,
    columns: expected.columns,
    holdoutMae: metrics.holdoutMae,
    holdoutRmse: metrics.holdoutRmse,
    trainRows: metrics.trainRows,
    holdoutRows: metrics.holdoutRows,
    windowRows: data.windowRows,
    reservoirRows: data.reservoirRows,
    dataFromTs: data.fromTs,
    dataToTs: data.toTs,
    band: result.band && { ...result.band, quantiles: config.band },
    warmStarted: result.warmStarted,
    model: config.model,
    backend: result.backend,
    trainMs: metrics.trainMs,
    cleaning: cleaningSummary(data.counts),
  };
}
