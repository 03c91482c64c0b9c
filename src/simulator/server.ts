// The simulator's Modbus TCP server, on loopback, through modbus-serial's server. The line's
// values sit in input registers as float32 (ABCD), the parts counter as uint32; the register
// map is SIMULATOR_MAP, which config/simulator.yaml mirrors.

import ModbusRTU from "modbus-serial";
import type { SimulatorConfig } from "../config/schema.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import { type LineState, SimulatedLine } from "./line.js";

type Field = Exclude<keyof LineState, "degradation">;

/** Input register address and type of each simulated value. */
export const SIMULATOR_MAP: ReadonlyArray<{ field: Field; address: number; type: string }> = [
  { field: "temperature", address: 0, type: "float32" },
  { field: "humidity", address: 2, type: "float32" },
  { field: "pressure", address: 4, type: "float32" },
  { field: "vibration", address: 6, type: "float32" },
  { field: "spindleSpeed", address: 8, type: "float32" },
  { field: "efficiency", address: 10, type: "float32" },
  { field: "goodParts", address: 12, type: "uint32" },
  { field: "step", address: 14, type: "uint32" },
];
const REGISTERS = 16;

/** The line's state as big-endian registers. */
export function encodeRegisters(state: LineState): number[] {
  const buf = Buffer.alloc(REGISTERS * 2);
  for (const { field, address, type } of SIMULATOR_MAP) {
    if (type === "float32") buf.writeFloatBE(state[field], address * 2);
    else buf.writeUInt32BE(state[field] >>> 0, address * 2);
  }
  return Array.from({ length: REGISTERS }, (_, i) => buf.readUInt16BE(i * 2));
}

export class SimulatorServer implements Component {
  readonly name = "simulator";
  private server?: InstanceType<typeof ModbusRTU.ServerTCP>;
  private timer?: NodeJS.Timeout;
  private registers: number[] = [];
  private readonly line: SimulatedLine;
  private inEpisode = false;

  constructor(
    private readonly config: SimulatorConfig,
    private readonly logger: Logger,
  ) {
    this.line = new SimulatedLine(config.seed, config);
    this.registers = encodeRegisters(this.line.current);
  }

  async start(): Promise<void> {
    const { host, port, unitId, stepMs } = this.config;
    // Like a real PLC, the simulated line answers a read outside its map with exception 2
    // (illegal data address), so `plantgate read` of a coil says so instead of timing out.
    const illegal = (): never => {
      throw { modbusErrorCode: 2, msg: "not on the simulated line's map" };
    };
    const inputs = (addr: number, length: number) =>
      addr + length <= REGISTERS
        ? Array.from({ length }, (_, i) => this.registers[addr + i] as number)
        : illegal();
    const vector = {
      getInputRegister: (addr: number) => inputs(addr, 1)[0],
      getMultipleInputRegisters: inputs,
      getHoldingRegister: illegal,
      getMultipleHoldingRegisters: illegal,
      getCoil: illegal,
      getDiscreteInput: illegal,
    };
    const server = new ModbusRTU.ServerTCP(vector, { host, port, unitID: unitId });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("initialized", () => resolve());
      server.once("serverError", (err: Error | null) =>
        reject(new Error(`simulator cannot listen on ${host}:${port}: ${err?.message}`)),
      );
    });
    server.on("socketError", (err: Error | null) =>
      this.logger.debug({ err: err?.message }, "client socket error"),
    );

    this.timer = setInterval(() => this.step(), stepMs);
    this.logger.info({ host, port, unitId, seed: this.config.seed, stepMs }, "simulator started");
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const server = this.server;
    if (!server) return;
    for (const sock of server.socks.keys()) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  health(): Health {
    return { status: this.server ? "ok" : "down", step: this.line.current.step };
  }

  private step(): void {
    const state = this.line.advance();
    this.registers = encodeRegisters(state);
    const inEpisode = state.degradation > 0;
    if (inEpisode !== this.inEpisode) {
      this.inEpisode = inEpisode;
      const what = inEpisode ? "degradation begins" : "degradation ends";
      this.logger.info({ step: state.step }, what);
    }
  }
}
