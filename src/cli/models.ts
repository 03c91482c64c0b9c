// `plantgate models`: the trained model versions on this gateway, and `models rollback`
// to make an older one current again. The pointer file is replaced atomically; a running
// daemon is told over the control channel to load the version at once.

import { join } from "node:path";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { controlRequest, SOCKET_NAME } from "../control/channel.js";
import { silentLogger } from "../core/logger.js";
import {
  type ExpectedInputs,
  expectedInputs,
  incompatibility,
  modelColumns,
} from "../model/champion.js";
import { ModelStore } from "../model/model-store.js";
import type { CleaningSummary } from "../model/records.js";
import { reportConfigError } from "./errors.js";

export interface ModelRow {
  version: string;
  champion: boolean;
  createdTs?: number;
  holdoutMae?: number;
  holdoutRmse?: number;
  rows?: number;
  dataFromTs?: number;
  dataToTs?: number;
  features?: string[];
  /** Values cleaning dropped or repaired, per tag and reason, in the window it saw. */
  cleaning?: CleaningSummary["tags"];
  /** Why the version's meta could not be read. */
  unreadable?: string;
  /** Why the version cannot be loaded (a damaged file): the daemon passes over it. */
  unusable?: string;
}

export interface RollbackResult {
  version: string;
  previous?: string;
  /** True when a running daemon loaded the version; false when none was running. */
  reloaded: boolean;
}

export function modelDir(config: Config): string {
  return join(config.gateway.stateDir, "models");
}

/** Every version on disk, oldest first, the champion marked. */
export async function listModels(dir: string): Promise<ModelRow[]> {
  const store = new ModelStore(dir, silentLogger());
  const current = await store.current();
  const rows: ModelRow[] = [];
  for (const version of await store.list()) {
    const champion = version === current;
    try {
      const m = await store.readMeta(version);
      rows.push({
        version,
        champion,
        createdTs: m.createdTs,
        holdoutMae: m.holdoutMae,
        holdoutRmse: m.holdoutRmse,
        rows: m.trainRows + m.holdoutRows,
        dataFromTs: m.dataFromTs,
        dataToTs: m.dataToTs,
        features: modelColumns(m),
        cleaning: m.cleaning?.tags,
        unusable: await store.load(version).then(
          () => undefined,
          (err: Error) => err.message,
        ),
      });
    } catch (err) {
      rows.push({ version, champion, unreadable: (err as Error).message });
    }
  }
  return rows;
}

export function formatModels(rows: readonly ModelRow[]): string {
  if (rows.length === 0) return "no trained models yet\n";
  const iso = (ts?: number) => (ts === undefined ? "?" : new Date(ts).toISOString().slice(0, 19));
  const num = (n?: number) => (n === undefined ? "?" : n.toFixed(3));
  const header = [
    "",
    "version",
    "created",
    "mae",
    "rmse",
    "rows",
    "data from → to",
    "cleaned",
    "features",
  ];
  const lines = rows.map((r) => {
    const mark = r.champion ? "*" : "";
    if (r.unreadable) return [mark, r.version, `unreadable: ${r.unreadable}`];
    if (r.unusable) return [mark, r.version, iso(r.createdTs), `unusable: ${r.unusable}`];
    const range = `${iso(r.dataFromTs)} → ${iso(r.dataToTs)}`;
    const cells = [num(r.holdoutMae), num(r.holdoutRmse), String(r.rows ?? "?"), range];
    const cleaned = r.cleaning ? String(cleanedValues(r.cleaning)) : "?";
    return [mark, r.version, iso(r.createdTs), ...cells, cleaned, (r.features ?? []).join(",")];
  });
  return `${[header, ...lines].map((cells) => cells.join("\t")).join("\n")}\n`;
}

/** Every value dropped or repaired, over tags and reasons (details: `--json`). */
function cleanedValues(cleaning: CleaningSummary["tags"]): number {
  let n = 0;
  for (const reasons of Object.values(cleaning)) for (const v of Object.values(reasons)) n += v;
  return n;
}

/**
 * Points `current` at `version` after checking it reads back and (with `expected`) suits
 * the config; then a daemon listening on `socket` loads it. If the daemon refuses it, the
 * previous pointer is put back and the daemon's reason thrown.
 */
export async function rollbackModel(opts: {
  dir: string;
  version: string;
  socket: string;
  expected?: ExpectedInputs;
}): Promise<RollbackResult> {
  const { dir, version, socket, expected } = opts;
  const store = new ModelStore(dir, silentLogger());
  const versions = await store.list();
  if (!versions.includes(version)) {
    throw new Error(`no model ${version} in ${dir} (there are: ${versions.join(", ") || "none"})`);
  }
  const stored = await store.load(version);
  const why = expected && incompatibility(stored.meta, expected);
  if (why) throw new Error(`model ${version} cannot serve this config: ${why}`);

  const previous = await store.current();
  await store.setCurrent(version);
  const running = await controlRequest(socket, "ping").then(
    () => true,
    () => false,
  );
  if (!running) return { version, previous, reloaded: false };
  try {
    await controlRequest(socket, "models.reload");
  } catch (err) {
    if (previous) await store.setCurrent(previous);
    throw new Error(`the daemon did not load ${version}: ${(err as Error).message}`);
  }
  return { version, previous, reloaded: true };
}

function load(file: string): Config {
  try {
    return loadConfig(file);
  } catch (err) {
    reportConfigError(err);
  }
}

function fail(message: string): never {
  process.stderr.write(`plantgate: ${message}\n`);
  process.exit(1);
}

export async function modelsCommand(opts: { config: string; json?: boolean }): Promise<void> {
  const rows = await listModels(modelDir(load(opts.config))).catch((err: Error) =>
    fail(err.message),
  );
  process.stdout.write(opts.json ? `${JSON.stringify(rows)}\n` : formatModels(rows));
}

export async function rollbackCommand(version: string, opts: { config: string }): Promise<void> {
  const config = load(opts.config);
  const learning = config.learning;
  if (!learning) fail("the config has no learning section");
  // The daemon's module brings TensorFlow along; only a rollback needs its feature list.
  const { featureTags } = await import("../daemon/daemon.js");
  // The inputs as the daemon builds them: with a formula, counters or derived columns they
  // are not simply the features and the target.
  const expected = expectedInputs(learning, featureTags(config));
  try {
    const socket = join(config.gateway.stateDir, SOCKET_NAME);
    const r = await rollbackModel({ dir: modelDir(config), version, socket, expected });
    const later = "no daemon running; loaded at its next start";
    const how = r.reloaded ? "the daemon loaded it" : later;
    process.stdout.write(`current model: ${r.version} (was ${r.previous ?? "none"}); ${how}\n`);
  } catch (err) {
    fail((err as Error).message);
  }
}
