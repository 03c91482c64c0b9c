// A full disk and a read-only file system, for real: the database lives on a small tmpfs.
// Polling goes on (writes queue in memory), the store reports the fault, and writing resumes
// by itself when space or write access returns. Nothing committed is lost.

import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { Store } from "../../src/store/store.js";
import { requireOrSkip } from "../support/data.js";
import { TmpfsMount } from "../support/mount.js";

const probe = new TmpfsMount();
const ready = requireOrSkip(probe.mount(64));
probe.unmount();

let ts = 0;
const readings = (n: number): Reading[] =>
  Array.from({ length: n }, () => ({ tag: "m.a", ts: ++ts, value: ts, quality: GOOD }));

describe.runIf(ready)("store on a failing file system", () => {
  let mnt: TmpfsMount;
  let store: Store | undefined;

  afterEach(async () => {
    await store?.stop();
    store = undefined;
    mnt.readOnly(false);
    mnt.unmount();
  });

  async function open(sizeKb: number) {
    mnt = new TmpfsMount();
    expect(mnt.mount(sizeKb)).toBeUndefined();
    const path = join(mnt.dir, "plantgate.db");
    store = new Store({
      path,
      config: storeSchema.parse({ flushIntervalMs: 60_000, queueCapacity: 1_000_000 }),
      tags: [],
      clock: systemClock,
      logger: silentLogger(),
    });
    await store.start();
    return { store, path };
  }

  function committed(path: string): number {
    const db = new Database(path, { readonly: true });
    const n = (db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number }).n;
    db.close();
    return n;
  }

  it("queues readings while the disk is full and writes them when space returns", async () => {
    const { store, path } = await open(8192);
    store.write(readings(1000));
    store.flush();
    // Fill the rest of the file system.
    const filler = join(mnt.dir, "filler");
    expect(() => writeFileSync(filler, Buffer.alloc(16 * 1024 * 1024))).toThrow(/ENOSPC/);

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

  it("starts on a read-only file system, queues readings, and writes them once it is writable", async () => {
    const first = await open(8192);
    first.store.write(readings(1000));
    await first.store.stop();
    store = undefined;

    mnt.readOnly(true);
    // As root, permissions would not stop a write: prove the mount does.
    expect(() => writeFileSync(join(mnt.dir, "probe"), "x")).toThrow(/EROFS/);
    store = new Store({
      path: first.path,
      config: storeSchema.parse({ flushIntervalMs: 60_000 }),
      tags: [],
      clock: systemClock,
      logger: silentLogger(),
    });
    await store.start();
    store.write(readings(500));
    store.flush();
    const h = store.health();
    expect(h.status).toBe("degraded");
    // SQLite itself refused: the message is SQLite's, about the read-only file.
    expect(String(h.lastError)).toMatch(/readonly|read-only|unable to open/i);
    expect(h.queued).toBe(500);

    mnt.readOnly(false);
    await new Promise((r) => setTimeout(r, 1100)); // the store retries opening once a second
    store.flush();
    expect(store.health()).toMatchObject({ status: "ok", queued: 0 });
    expect(committed(first.path)).toBe(1500);
  });
});
