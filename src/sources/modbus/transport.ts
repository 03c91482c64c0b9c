// The Modbus transport works at the protocol-data-unit level: a unit id, a function code
// and its payload go out; the response payload comes back, or a typed error. Everything
// above it (planner, poller, CLI) speaks PDUs only, so a transport can be replaced or
// extended (RTU buses, pipelining) without touching them.

import type { Component } from "../../core/lifecycle.js";

export interface PduRequest {
  unitId: number;
  functionCode: number;
  /** The PDU bytes after the function code. */
  payload: Buffer;
  timeoutMs: number;
}

export interface ModbusTransport extends Component {
  /** "tcp://host:port", for logs and errors. */
  readonly endpoint: string;
  /**
   * Sends one request and resolves with the response payload (the bytes after the function
   * code). Rejects with ModbusExceptionError, ModbusTimeoutError, ModbusDisconnectedError
   * or ModbusResponseError. Requests on one connection are queued: on TCP at most the
   * connection's maxInFlight are outstanding, on an RTU line one.
   */
  request(req: PduRequest): Promise<Buffer>;
  /** True while the underlying connection is open. */
  readonly connected: boolean;
  /**
   * Calls `listener` each time the connection opens again after it was lost (not at the
   * first open): news for the poller, whose units there may answer again. Returns a
   * function that removes the listener.
   */
  onReconnect(listener: () => void): () => void;
}

export const FunctionCode = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
} as const;
