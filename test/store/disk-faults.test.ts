// A full disk and a read-only file system, for real: the database lives on a small tmpfs,
// or on an ext4 image that the kernel turns read-only under the running store. Polling goes
// on (writes queue in memory), the store reports the fault, and writing resumes by itself
// when space or write access returns. Nothing committed is lost.

import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { Store, type TagInfo } from "../../src/store/store.js";
import { repoRoot, requireOrSkip } from "../support/data.js";
import { TmpfsMount } from "../support/mount.js";
import { Ext4Image } from "./ext4-image.js";
import { capturingLogger } from "./support.js";

const probe = new TmpfsMount();
const ready = requireOrSkip(probe.mount(64));
probe.unmount();

let ts = 0;
const readings = (n: number): Reading[] =>
  Array.from({ length: n }, () => ({ tag: "m.a", ts: ++ts, value: ts, quality: GOOD }));

function committed(path: string): number {
  const db = new Database(path, { readonly: true });
  const n = (db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number }).n;
  db.close();
  return n;
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TAGS: TagInfo[] = [{ name: "m.a", device: "m", type: "uint32" }];

function newStore(path: string, extra: Record<string, unknown> = {}, tags = TAGS) {
  const { logger, lines } = capturingLogger();
  const store = new Store({
    path,
    config: storeSchema.parse({ flushIntervalMs: 60_000, queueCapacity: 1_000_000, ...extra }),
    tags,
    clock: systemClock,
    logger,
  });
  return { store, lines };
}

/** A writer that commits rows and dies by SIGKILL: its -wal and -shm files stay behind. */
function crashWithWal(path: string, rows: number): void {
  const script = `
    const Database = require("better-sqlite3");
    const db = new Database(${JSON.stringify(path)});
    const id = db.prepare("SELECT id FROM tags WHERE name = 'm.a'").pluck().get();
    const insert = db.prepare(
      "INSERT INTO readings (ts, tag_id, value, quality) VALUES (?, ?, ?, 'good')");
    db.transaction(() => { for (let i = 0; i < ${rows}; i++) insert.run(1e6 + i, id, i); })();
    process.kill(process.pid, "SIGKILL");`;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: repoRoot, encoding: "utf8" });
  expect(r.signal, r.stderr).toBe("SIGKILL");
}

describe.runIf(ready)("store on a full disk", () => {
  let mnt: TmpfsMount;
  let store: Store | undefined;

  afterEach(async () => {
    await store?.stop();
    store = undefined;
    mnt.unmount();
  });

  async function open(sizeKb: number) {
    mnt = new TmpfsMount();
    expect(mnt.mount(sizeKb)).toBeUndefined();
    const path = join(mnt.dir, "plantgate.db");
    const made = newStore(path);
    store = made.store;
    await store.start();
    return { store, path, lines: made.lines };
  }

  function fill(): string {
    const filler = join(mnt.dir, "filler");
    expect(() => writeFileSync(filler, Buffer.alloc(16 * 1024 * 1024))).toThrow(/ENOSPC/);
    return filler;
  }

  it("queues readings while the disk is full and writes them when space returns", async () => {
    const { store, path } = await open(8192);
    store.write(readings(1000));
    store.flush();
    const filler = fill();

    store.write(readings(5000));
    store.flush();
    const h = store.health();
    expect(h.status).toBe("degraded");
    expect(String(h.lastError)).toMatch(/full|disk/i);
    expect(h.queued).toBeGreaterThan(0);

    rmSync(filler);
    store.flush();
    expect(store.health()).toMatchObject({ status: "ok", queued: 0, dropped: 0 });
    expect(committed(path)).toBe(6000);
  });

  it("starts on a full disk with a crashed writer's WAL, queues, writes later", async () => {
    const first = await open(8192);
    first.store.write(readings(1000));
    await first.store.stop();
    store = undefined;
    crashWithWal(first.path, 2000);
    expect(statSync(`${first.path}-wal`).size).toBeGreaterThan(0);
    expect(existsSync(`${first.path}-shm`)).toBe(true);
    const filler = fill();

    // A tag the file does not know yet: starting has to write, and cannot.
    const tags = [...TAGS, { name: "m.b", device: "m", type: "float32" }];
    const { store: second, lines } = newStore(first.path, { flushIntervalMs: 50 }, tags);
    store = second;
    await expect(second.start()).resolves.toBeUndefined();
    second.write(readings(500));
    expect(second.health()).toMatchObject({ status: "degraded", queued: 500 });
    expect(lines.find((l) => l.msg.startsWith("store cannot write"))).toBeDefined();

    rmSync(filler);
    await until("the store writes again", () => second.health().queued === 0);
    expect(second.health().status).toBe("ok");
    expect(committed(first.path)).toBe(1000 + 2000 + 500);
  });
});

const image = new Ext4Image();
const ext4Ready = ready && requireOrSkip(image.create(16));
image.cleanup();

describe.runIf(ext4Ready)("store when its file system turns read-only", () => {
  let img: Ext4Image | undefined;
  let store: Store | undefined;

  afterEach(async () => {
    await store?.stop();
    store = undefined;
    img?.cleanup();
  });

  it("keeps readings while SQLite refuses to write, and resumes on its own", async () => {
    img = new Ext4Image();
    expect(img.create(16)).toBeUndefined();
    const path = join(img.dir, "plantgate.db");
    const made = newStore(path, { flushIntervalMs: 50 });
    store = made.store;
    await store.start();
    store.write(readings(1000));
    await until("the first readings are committed", () => committed(path) === 1000);

    img.forceReadOnly();
    // As root, permissions would not stop a write: the mount does.
    expect(() => writeFileSync(join(img?.dir as string, "probe"), "x")).toThrow(/EROFS/);
    store.write(readings(500));
    const s = store;
    // SQLite's own refusal, once the store has opened the file afresh (read-only now).
    await until("SQLite refuses the write", () =>
      made.lines.some((l) => l.code === "SQLITE_READONLY"),
    );
    expect(store.health()).toMatchObject({ status: "degraded", queued: 500 });
    expect(String(store.health().lastError)).toMatch(/attempt to write a readonly database/);

    img.writableAgain();
    await until("the queue is written", () => s.health().queued === 0);
    expect(store.health()).toMatchObject({ status: "ok", dropped: 0 });
    expect(committed(path)).toBe(1500);
  });
});
