// The RTU serial line's presence check on a socat pty pair: the link the line opened is
// removed, or made to lead to another pty, while the first pty keeps working, as udev
// removes or recreates an adapter's node while its hung-up tty reports nothing.

import { mkdtempSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SerialLine } from "../../../src/sources/modbus/serial-line.js";
import { socatMissing, startPtyPair } from "../../peers/pty-pair.js";
import { requireOrSkip } from "../../support/data.js";
import type { Proc } from "../../support/process.js";

describe.runIf(requireOrSkip(socatMissing()))("SerialLine presence check", () => {
  let dir: string;
  const socats: Proc[] = [];
  let line: SerialLine | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "plantgate-line-"));
    socats.push(await startPtyPair(dir));
  });

  afterEach(async () => {
    await line?.close();
    await Promise.allSettled(socats.splice(0).map((s) => s.stop(2000)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the line on `path`; resolves with the reason it will close with, to await. */
  const open = async (path: string): Promise<{ closed: Promise<string> }> => {
    const opened = new SerialLine({
      path,
      baudRate: 19200,
      parity: "none",
      dataBits: 8,
      stopBits: 1,
      presenceCheckMs: 50,
    });
    line = opened;
    let closed: (reason: string) => void = () => {};
    const reason = new Promise<string>((resolve) => {
      closed = resolve;
    });
    await opened.open({ data: () => {}, closed });
    return { closed: reason };
  };

  it("reports the line closed once its path vanishes", async () => {
    const { closed } = await open(join(dir, "a"));
    rmSync(join(dir, "a"));
    expect(await closed).toBe("device path vanished");
  });

  it("reports the line closed once its path leads to another device node", async () => {
    const { closed } = await open(join(dir, "a"));
    socats.push(await startPtyPair(dir, ["c", "d"]));
    rmSync(join(dir, "a"));
    symlinkSync(readlinkSync(join(dir, "c")), join(dir, "a"));
    expect(await closed).toBe("device node replaced");
  });
});
