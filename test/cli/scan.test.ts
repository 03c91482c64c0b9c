// The scan's pure parts: the unit list, and which replies count as a unit answering.

import { describe, expect, it } from "vitest";
import { parseUnits, portListing, probe } from "../../src/cli/scan.js";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusResponseError,
  ModbusTimeoutError,
} from "../../src/sources/modbus/errors.js";
import type { ModbusTransport, PduRequest } from "../../src/sources/modbus/transport.js";

describe("parseUnits", () => {
  it("takes units and ranges, sorted, without repeats", () => {
    expect(parseUnits("1-3,17, 2 ,5-5")).toEqual([1, 2, 3, 5, 17]);
    expect(parseUnits("1-247")).toHaveLength(247);
  });

  it("refuses broadcast, out-of-range, reversed and malformed parts", () => {
    for (const bad of ["0", "0-3", "256", "5-1", "a", "1-", "1,,2", ""]) {
      expect(() => parseUnits(bad), bad).toThrow(/--units/);
    }
    expect(() => parseUnits("5-1")).toThrow('--units: "5-1" runs backwards; write 1-5');
  });
});

function transport(answer: (req: PduRequest) => Promise<Buffer>): ModbusTransport {
  return {
    name: "fake",
    endpoint: "fake://",
    connected: true,
    start: async () => {},
    stop: async () => {},
    health: () => ({ status: "ok" }),
    onReconnect: () => () => {},
    request: answer,
  };
}

describe("probe", () => {
  it("asks for holding register 0, one register, with the given timeout", async () => {
    const seen: PduRequest[] = [];
    const t = transport(async (req) => {
      seen.push(req);
      return Buffer.from([2, 0x12, 0x34]);
    });
    expect(await probe(t, 7, 150)).toBe("holding register 0 = 0x1234");
    expect(seen).toEqual([
      { unitId: 7, functionCode: 3, payload: Buffer.from([0, 0, 0, 1]), timeoutMs: 150 },
    ]);
  });

  it("counts an exception as alive, except a gateway's 10 and 11", async () => {
    const fails = (err: Error) => transport(() => Promise.reject(err));
    expect(await probe(fails(new ModbusExceptionError(4, 3, 2)), 4, 100)).toBe("exception 2");
    expect(await probe(fails(new ModbusExceptionError(4, 3, 10)), 4, 100)).toBeUndefined();
    expect(await probe(fails(new ModbusExceptionError(4, 3, 11)), 4, 100)).toBeUndefined();
    expect(await probe(fails(new ModbusTimeoutError(4, 100)), 4, 100)).toBeUndefined();
    expect(await probe(fails(new ModbusResponseError("short")), 4, 100)).toMatch(/malformed/);
  });

  it("lets a lost connection end the scan", async () => {
    const t = transport(() => Promise.reject(new ModbusDisconnectedError("tcp://x:502")));
    await expect(probe(t, 1, 100)).rejects.toThrow(/disconnected/);
  });
});

describe("portListing", () => {
  it("says why it cannot list, and what to do, when the lister rejects", async () => {
    const err = new Error("spawn udevadm ENOENT\n    more detail");
    expect(await portListing(() => Promise.reject(err))).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "plantgate: cannot list serial ports here (udevadm missing?): give --serial PATH " +
        "(spawn udevadm ENOENT)\n",
    });
  });

  it("prints one line per port with what is known of it", async () => {
    const ports = [
      { path: "/dev/ttyUSB0", manufacturer: "FTDI", serialNumber: "A10K", pnpId: "usb-FTDI" },
      { path: "/dev/ttyS0", manufacturer: undefined, serialNumber: undefined, pnpId: undefined },
    ];
    const listed = await portListing(async () => ports as never);
    expect(listed).toEqual({
      code: 0,
      stdout: "/dev/ttyUSB0  FTDI, A10K, usb-FTDI\n/dev/ttyS0\n",
      stderr: "",
    });
    expect(await portListing(async () => [])).toEqual({
      code: 0,
      stdout: "no serial ports found\n",
      stderr: "",
    });
  });
});
