// A state directory whose file system turned read-only must not stop the gateway: no
// control channel then, said loudly, and the virtual outputs switch on without their file.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ControlServer } from "../../src/control/channel.js";
import { silentLogger } from "../../src/core/logger.js";
import { VirtualGpioDriver } from "../../src/outputs/virtual-driver.js";
import { requireOrSkip } from "../support/data.js";
import { TmpfsMount } from "../support/mount.js";

const mnt = new TmpfsMount();
const ready = requireOrSkip(mnt.mount(256));

describe.runIf(ready)("a read-only state directory", () => {
  afterAll(() => mnt.unmount());

  it("runs without the control channel, and outputs without their state file", async () => {
    mnt.readOnly(true);
    const path = join(mnt.dir, "plantgate.sock");
    const server = new ControlServer(path, {}, silentLogger());
    await server.start();
    expect(server.health()).toMatchObject({ status: "degraded", readOnly: true });
    expect(existsSync(path)).toBe(false);
    await server.stop();

    const driver = new VirtualGpioDriver(join(mnt.dir, "outputs.json"), silentLogger());
    const line = await driver.open("red", 22, 0);
    await line.write(1);
    expect(existsSync(join(mnt.dir, "outputs.json"))).toBe(false);

    // Writable again: the next change writes the file with every line's level.
    mnt.readOnly(false);
    await line.write(0);
    expect(existsSync(join(mnt.dir, "outputs.json"))).toBe(true);
  });
});
