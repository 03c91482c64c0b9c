// The one line `plantgate read` and `scan` print for an error the user can act on.

import { describe, expect, it } from "vitest";
import { describeError } from "../../src/cli/read.js";
import { ModbusDisconnectedError, ModbusExceptionError } from "../../src/sources/modbus/errors.js";

describe("describeError", () => {
  it("names the exception", () => {
    expect(describeError(new ModbusExceptionError(3, 3, 2))).toBe(
      "unit 3: exception 2 (illegal data address)",
    );
  });

  it("says who may hold a serial port that cannot be locked", () => {
    // What node-serialport reports on Linux when another process has the port open.
    const detail = "Error Resource temporarily unavailable Cannot lock port";
    const line = describeError(new ModbusDisconnectedError("serial:///dev/ttyUSB0", detail));
    expect(line).toBe(
      `serial:///dev/ttyUSB0: disconnected (${detail}): another program has the port open ` +
        "(a running plantgate daemon? stop it first)",
    );
    const other = describeError(new ModbusDisconnectedError("serial:///dev/ttyUSB0", "ENOENT"));
    expect(other).toBe("serial:///dev/ttyUSB0: disconnected (ENOENT)");
  });
});
