import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ControlServer, controlRequest } from "../../src/control/channel.js";
import { silentLogger } from "../../src/core/logger.js";

describe("control channel", () => {
  it("answers commands over the Unix socket and reports errors", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pg-ctl-")), "plantgate.sock");
    writeFileSync(path, ""); // a stale socket file left by a daemon that died
    const server = new ControlServer(path, { status: () => ({ up: true }) }, silentLogger());
    await server.start();
    try {
      expect(await controlRequest(path, "status")).toEqual({ up: true });
      await expect(controlRequest(path, "nope")).rejects.toThrow(/unknown command "nope"/);

      const second = new ControlServer(path, {}, silentLogger());
      await expect(second.start()).rejects.toThrow(/another plantgate is running/);
    } finally {
      await server.stop();
    }
    await expect(controlRequest(path, "status", {}, 500)).rejects.toThrow(/cannot reach/);
  });
});
