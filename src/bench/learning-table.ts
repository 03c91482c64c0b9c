// The learning figures' table: each figure beside a baseline measured in the same run, with
// the ratio and the goal, in the Markdown layout of the rest of the bench.

import { printMarkdownTable } from "./table.js";

export interface LearningRow {
  figure: string;
  value: number;
  baselineName: string;
  baseline: number;
  unit: string;
  digits: number;
  goal?: string;
}

/** The table layout of the rest of the bench, with decimals: errors are a few MW. */
export function printTable(rows: LearningRow[]): void {
  const head = ["figure", "plantgate", "baseline", "baseline is", "ratio", "goal"];
  const num = (v: number, r: LearningRow) =>
    Number.isNaN(v) ? "n/a" : `${v.toFixed(r.digits)} ${r.unit}`.trim();
  const body = rows.map((r) => [
    r.figure,
    num(r.value, r),
    num(r.baseline, r),
    r.baselineName,
    r.baseline === 0 || Number.isNaN(r.value / r.baseline)
      ? "-"
      : (r.value / r.baseline).toFixed(2),
    r.goal ?? "",
  ]);
  printMarkdownTable(head, body);
}

/** "≤ 3.80 MW: NOT met, gap 0.19 MW": how far a figure is from a ceiling. */
export function atMost(value: number, goal: number, unit: string, digits: number): string {
  const gap = value - goal;
  const verdict =
    gap <= 0 ? `met, margin ${(-gap).toFixed(digits)}` : `NOT met, gap ${gap.toFixed(digits)}`;
  return `≤ ${goal.toFixed(digits)} ${unit}: ${verdict} ${unit}`.trim();
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
