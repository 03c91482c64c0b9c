// The public data sets the learning figures use, found like the tests find them:
// PLANTGATE_DATA_DIR, else ../shared/data beside the repository. They are read in place,
// never copied. A missing file is reported as a reason, so the bench can skip the figure.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** src/bench/ under vitest, dist/bench/ when built: the repository is two levels up. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export function dataDir(): string {
  return process.env.PLANTGATE_DATA_DIR ?? resolve(repoRoot, "../shared/data");
}

/** The path of a data file or folder, or why it is missing. */
export function dataPath(rel: string): { path: string; missing?: string } {
  const path = join(dataDir(), rel);
  if (existsSync(path)) return { path };
  return { path, missing: `data ${path} not found (set PLANTGATE_DATA_DIR)` };
}

export interface Regression {
  x: number[][];
  y: number[];
  features: string[];
  target: string;
}

/** CCPP: AT, V, AP, RH → PE (MW), in file order (UCI shuffled it; there is no time order). */
export function loadCcpp(path: string): Regression {
  const [head, ...lines] = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const names = (head ?? "").split(",");
  const rows = lines.map((l) => l.split(",").map(Number));
  const target = names.length - 1;
  return {
    x: rows.map((r) => r.slice(0, target)),
    y: rows.map((r) => r[target] as number),
    features: names.slice(0, target),
    target: names[target] as string,
  };
}

export interface SkabRun {
  name: string;
  /** Seconds since the first row, from the datetime column (the test bed logs at 1 Hz). */
  seconds: number[];
  /** Every channel except the flow, in file order. */
  x: number[][];
  features: string[];
  flow: number[];
  /** 0/1 per row; all 0 for the anomaly-free run, which has no labels. */
  anomaly: number[];
  changepoint: number[];
}

export const FLOW_CHANNEL = "Volume Flow RateRMS";
const LABELS = ["anomaly", "changepoint"];

/** One SKAB file: `;`-separated, a datetime first, then channels, then optional labels. */
export function loadSkab(path: string): SkabRun {
  const [head, ...lines] = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const names = (head ?? "").split(";");
  const flowAt = names.indexOf(FLOW_CHANNEL);
  if (flowAt < 0) throw new Error(`${path}: no "${FLOW_CHANNEL}" column`);
  const featureAt = names
    .map((_, i) => i)
    .filter((i) => i > 0 && i !== flowAt && !LABELS.includes(names[i] as string));
  const cells = lines.map((l) => l.split(";"));
  const t0 = Date.parse((cells[0]?.[0] ?? "").replace(" ", "T"));
  const column = (name: string) => {
    const at = names.indexOf(name);
    return cells.map((c) => (at < 0 ? 0 : Number(c[at])));
  };
  return {
    name: path.split("/").slice(-2).join("/"),
    seconds: cells.map((c) => (Date.parse((c[0] ?? "").replace(" ", "T")) - t0) / 1000),
    x: cells.map((c) => featureAt.map((i) => Number(c[i]))),
    features: featureAt.map((i) => names[i] as string),
    flow: cells.map((c) => Number(c[flowAt])),
    anomaly: column("anomaly"),
    changepoint: column("changepoint"),
  };
}

/** The CSV files of a folder, in numeric order (0.csv, 1.csv, …, 10.csv). */
export function csvFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b))
    .map((f) => join(dir, f));
}
