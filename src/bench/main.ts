// `npm run bench`: throughput figures, each beside a baseline measured in the same run, and
// printed as a ratio. Figures depend on the machine; ratios are what to compare.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fullPathBench, rawInsertBench } from "./ingest.js";

interface Row {
  figure: string;
  value: number;
  baselineName: string;
  baseline: number;
  unit: string;
}

function printTable(rows: Row[]): void {
  const head = ["figure", "plantgate", "baseline", "baseline is", "ratio"];
  const body = rows.map((r) => [
    r.figure,
    `${Math.round(r.value).toLocaleString("en")} ${r.unit}`,
    `${Math.round(r.baseline).toLocaleString("en")} ${r.unit}`,
    r.baselineName,
    (r.value / r.baseline).toFixed(2),
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((b) => (b[i] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pg-bench-"));
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  try {
    const path = await fullPathBench(join(dir, "path.db"), seconds);
    const raw = rawInsertBench(join(dir, "raw.db"), path.readings);
    printTable([
      {
        figure: "readings/s, Modbus response → committed SQLite row",
        value: path.perSecond,
        baselineName: "raw better-sqlite3 batched inserts",
        baseline: raw.perSecond,
        unit: "/s",
      },
    ]);
    console.log(
      `\n${path.readings.toLocaleString("en")} readings in ${path.requests.toLocaleString("en")} ` +
        `requests over ${seconds} s; baseline inserted the same count in batches of 1000.`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
