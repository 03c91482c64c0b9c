// Files that must survive a power cut whole: written beside their final name, fsynced,
// renamed over it, and the directory fsynced so the rename itself is on disk. A reader
// sees the old file or the new one, never a part of either.

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Writes `data` to `path` and fsyncs it (no rename: for files inside a staging folder). */
export async function writeDurably(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Fsyncs a directory, so that renames and new entries in it survive a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames `from` over `to` (a file or a folder) and fsyncs the directory holding `to`. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDirectory(dirname(to));
}

/** Replaces `path` with `data` whole or not at all, durably. */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeDurably(tmp, data);
    await renameDurably(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
