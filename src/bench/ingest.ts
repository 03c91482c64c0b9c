// The ingest figure: readings per second from a Modbus TCP response to a committed SQLite
// row, through the real transport, poller, decoder and store, against a fast local server.
// The baseline inserts the same number of rows with raw better-sqlite3 batched inserts
// into the same schema.

import Database from "better-sqlite3";
import { connectionSchema, storeSchema } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import type { Reading } from "../core/reading.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { migrate } from "../store/migrations.js";
import { Store } from "../store/store.js";
import { startFastServer } from "./fast-server.js";

const TAGS_PER_GROUP = 62; // 124 registers of float32: one request each
const GROUPS = 40; // demand well above what one connection serves: the queue never idles

export interface PathResult {
  readings: number;
  requests: number;
  perSecond: number;
}

function benchConnection(port: number) {
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    name: `g${g}`,
    pollIntervalMs: 5,
    tags: Array.from({ length: TAGS_PER_GROUP }, (_, t) => ({
      name: `g${g}t${t}`,
      table: "holdingRegister",
      address: t * 2,
      type: "float32",
    })),
  }));
  return connectionSchema.parse({
    name: "bench",
    host: "127.0.0.1",
    port,
    devices: [{ name: "d", groups }],
  });
}

export async function fullPathBench(path: string, seconds: number): Promise<PathResult> {
  const image = Buffer.alloc(250);
  for (let i = 0; i < 62; i++) image.writeFloatBE(i * 1.5, i * 2 * 2);
  const { port, server } = await startFastServer(image);
  const logger = silentLogger();
  const store = new Store({
    path,
    config: storeSchema.parse({ queueCapacity: 10_000_000 }),
    tags: [],
    clock: systemClock,
    logger,
  });
  await store.start();

  let readings = 0;
  let requests = 0;
  const sink = {
    write(batch: readonly Reading[]) {
      readings += batch.length;
      requests++;
      store.write(batch);
    },
  };
  const conn = benchConnection(port);
  const { transport, poller } = createModbusSource(conn, {
    sink,
    events: store,
    clock: systemClock,
    logger,
  });

  const t0 = performance.now();
  await transport.start();
  await poller.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await poller.stop();
  await transport.stop();
  await store.stop(); // flushes: every counted reading is committed when this returns
  const elapsed = (performance.now() - t0) / 1000;
  server.close();
  return { readings, requests, perSecond: readings / elapsed };
}

export function rawInsertBench(path: string, count: number): { perSecond: number } {
  const db = new Database(path);
  migrate(db);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.prepare("INSERT INTO tags (name, device, type) VALUES ('d.t', 'd', 'float32')").run();
  const insert = db.prepare(
    `INSERT INTO readings (ts, tag_id, value, quality, reason, exception_code)
     VALUES (?, 1, ?, 'good', NULL, NULL)`,
  );
  const batch = db.transaction((from: number, n: number) => {
    for (let i = 0; i < n; i++) insert.run(Date.now(), (from + i) * 1.5);
  });

  const t0 = performance.now();
  for (let done = 0; done < count; done += 1000) batch(done, Math.min(1000, count - done));
  const elapsed = (performance.now() - t0) / 1000;
  db.close();
  return { perSecond: count / elapsed };
}
