// `npm run bench`: throughput figures, each beside a baseline measured in the same run, and
// printed as a ratio. Figures depend on the machine; ratios are what to compare. Each run
// lasts BENCH_SECONDS (default 5); the whole bench takes about seven times that, plus the
// SD-card wear runs. BENCH_ONLY=store runs the buffer's figures alone.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AcquisitionResult, acquisitionBench } from "./acquisition.js";
import { forkFastServer } from "./fast-server.js";
import { fullPathBench, rawInsertBench } from "./ingest.js";
import { learningBench } from "./learning-report.js";
import { modbusSerialRate, pollerRate } from "./request-rate.js";
import { PER_POLL, rawRate, type StoreRate, sustainedStoreRate } from "./store.js";
import { measureAllWear, printWear, type WearFigures } from "./store-wear.js";
import { printMarkdownTable } from "./table.js";
import { oneDeviceConnection, plannedRequests, TAG_COUNT } from "./tag-map.js";

/** Tags per second per core of CPU we aim for; EMQ Neuron publishes about 12,000. */
const GOAL_TAGS_PER_CORE = 100_000;
const PIPELINE_DEPTH = 8;

interface Row {
  figure: string;
  value: number;
  baselineName: string;
  baseline: number;
  unit: string;
  /** What the figure should reach, and whether it did; empty when there is no goal. */
  goal?: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en");

function printTable(rows: Row[]): void {
  const head = ["figure", "plantgate", "baseline", "baseline is", "ratio", "goal"];
  const body = rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    `${fmt(r.baseline)} ${r.unit}`,
    r.baselineName,
    (r.value / r.baseline).toFixed(2),
    r.goal ?? "",
  ]);
  printMarkdownTable(head, body);
}

const met = (ok: boolean) => (ok ? "met" : "NOT met");

interface Figures {
  path: Awaited<ReturnType<typeof fullPathBench>>;
  raw: { perSecond: number };
  planned: AcquisitionResult;
  single: AcquisitionResult;
  serial: number;
  sequential: number;
  pipelined: number;
  store: StoreRate & { rawPerSecond: number };
  wear: WearFigures[];
}

/** The buffer's figures: sustained rate against raw inserts of the same count, and wear. */
async function measureStore(
  dir: string,
  seconds: number,
): Promise<Pick<Figures, "store" | "wear">> {
  const sustained = await sustainedStoreRate(dir, seconds);
  const rawPerSecond = rawRate(dir, sustained.committed);
  return { store: { ...sustained, rawPerSecond }, wear: await measureAllWear(dir) };
}

async function measure(dir: string, seconds: number): Promise<Figures> {
  const path = await fullPathBench(join(dir, "path.db"), seconds);
  const raw = rawInsertBench(join(dir, "raw.db"), path.readings);

  const server = await forkFastServer();
  try {
    const { port } = server;
    const planned = await acquisitionBench(join(dir, "planned.db"), seconds, { port });
    const singleOptions = { port, singleRegisterReads: true };
    const single = await acquisitionBench(join(dir, "single.db"), seconds, singleOptions);
    // One device's map: what pipelining is for. Baseline: the same registers read in turn.
    const requests = plannedRequests(oneDeviceConnection({ port }));
    const serial = await modbusSerialRate(port, requests, seconds);
    const sequential = await pollerRate(oneDeviceConnection({ port }), seconds);
    const depth = { port, maxInFlight: PIPELINE_DEPTH };
    const pipelined = await pollerRate(oneDeviceConnection(depth), seconds);
    const store = await measureStore(dir, seconds);
    return { path, raw, planned, single, serial, sequential, pipelined, ...store };
  } finally {
    await server.stop();
  }
}

function rows(f: Figures): Row[] {
  const serialName = "modbus-serial, sequential";
  return [
    {
      figure: "readings/s, Modbus response → committed SQLite row",
      value: f.path.perSecond,
      baselineName: "raw better-sqlite3 batched inserts",
      baseline: f.raw.perSecond,
      unit: "/s",
    },
    {
      figure: `tags/s committed, ${fmt(TAG_COUNT)}-tag map, planned reads`,
      value: f.planned.tagsPerSecond,
      baselineName: "same map, one request per tag",
      baseline: f.single.tagsPerSecond,
      unit: "/s",
    },
    {
      figure: "tags/s per core of CPU used, planned reads",
      value: f.planned.tagsPerCore,
      baselineName: "same map, one request per tag",
      baseline: f.single.tagsPerCore,
      unit: "/s",
      goal: `≥ ${fmt(GOAL_TAGS_PER_CORE)}: ${met(f.planned.tagsPerCore >= GOAL_TAGS_PER_CORE)}`,
    },
    {
      figure: "requests/s, one device's map, poller, maxInFlight 1",
      value: f.sequential,
      baselineName: serialName,
      baseline: f.serial,
      unit: "/s",
    },
    {
      figure: `requests/s, one device's map, poller, maxInFlight ${PIPELINE_DEPTH}`,
      value: f.pipelined,
      baselineName: serialName,
      baseline: f.serial,
      unit: "/s",
      goal: `> 1.00: ${met(f.pipelined > f.serial)}`,
    },
    storeRow(f.store),
  ];
}

function storeRow(store: Figures["store"]): Row {
  return {
    figure: "readings/s through the store, sustained (write(), queue, batches, WAL)",
    value: store.perSecond,
    baselineName: "raw better-sqlite3 batched inserts",
    baseline: store.rawPerSecond,
    unit: "/s",
    goal: `≥ 0.50: ${met(store.perSecond >= 0.5 * store.rawPerSecond)}`,
  };
}

// Groups with fewer requests get polled more often under saturation, so the minimum is
// weighed by the cycles each group ran; the plain sum of the plan is printed beside it.
function acquisitionNote(name: string, r: AcquisitionResult): string {
  const ratio = (r.requestsPerCycle / r.plannedPerCycle).toFixed(2);
  return (
    `${name}: ${fmt(r.committed)} tags committed (${fmt(r.bad)} bad) in ` +
    `${r.seconds.toFixed(1)} s; ${r.requestsPerCycle.toFixed(1)} requests per poll cycle ` +
    `of the map, planner minimum ${r.plannedPerCycle.toFixed(1)} (ratio ${ratio}; ` +
    `${r.plannedPerMapCycle} with every group polled equally); ` +
    `CPU ${(r.cpuShare * 100).toFixed(0)}% of one core`
  );
}

function printNotes(f: Figures, seconds: number): void {
  console.log(
    `\n${fmt(f.path.readings)} readings in ${fmt(f.path.requests)} requests over ${seconds} s; ` +
      "baseline inserted the same count in batches of 1000.",
  );
  console.log(acquisitionNote("planned reads", f.planned));
  console.log(acquisitionNote("one request per tag", f.single));
  console.log(
    `tags/s per core goal ≥ ${fmt(GOAL_TAGS_PER_CORE)} (EMQ Neuron publishes about 12,000); ` +
      "the fast server runs in its own process and is not counted.",
  );
  console.log(
    `pipelining: one device (${fmt(TAG_COUNT)} tags) polled with maxInFlight ` +
      `${PIPELINE_DEPTH} vs 1 on one connection: ${(f.pipelined / f.sequential).toFixed(2)}×`,
  );
  printStoreNote(f.store);
}

function printStoreNote(s: Figures["store"]): void {
  console.log(
    `store: ${fmt(s.committed)} readings written ${PER_POLL} at a time ` +
      `over ${s.seconds.toFixed(1)} s (${fmt(s.dropped)} dropped), every one committed; ` +
      "baseline inserted the same count " +
      "in batches of 1000 with nothing else running.",
  );
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  if (!(seconds > 0)) throw new RangeError("BENCH_SECONDS must be a positive number of seconds");
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "pg-bench-"));
  try {
    // BENCH_ONLY=store: the buffer's figures alone (a change to the store needs no more).
    if (process.env.BENCH_ONLY === "store") {
      const f = await measureStore(dir, seconds);
      printTable([storeRow(f.store)]);
      printStoreNote(f.store);
      printWear(f.wear);
      return;
    }
    const figures = await measure(dir, seconds);
    printTable(rows(figures));
    printNotes(figures, seconds);
    printWear(figures.wear);
    // Learning last: it trains on both cores and would disturb the throughput figures.
    await learningBench();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
