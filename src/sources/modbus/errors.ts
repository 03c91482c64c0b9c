// Typed Modbus errors: the poller decides a reading's quality from the error's class.

export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: "illegal function",
  2: "illegal data address",
  3: "illegal data value",
  4: "server device failure",
  5: "acknowledge",
  6: "server device busy",
  8: "memory parity error",
  10: "gateway path unavailable",
  11: "gateway target device failed to respond",
};

export class ModbusError extends Error {
  override name = "ModbusError";
}

/** The device answered with an exception response (function code | 0x80). */
export class ModbusExceptionError extends ModbusError {
  override name = "ModbusExceptionError";
  constructor(
    readonly unitId: number,
    readonly functionCode: number,
    readonly exceptionCode: number,
  ) {
    const what = EXCEPTION_NAMES[exceptionCode] ?? "unknown exception";
    super(`unit ${unitId} function ${functionCode}: exception ${exceptionCode} (${what})`);
  }
}

/**
 * Exception 10 (gateway path unavailable) and 11 (gateway target device failed to respond):
 * a gateway answering for a device behind it that is not there. For the device's health
 * they count as no answer, like a timeout; `plantgate scan` does not list such a unit.
 */
const GATEWAY_EXCEPTIONS: ReadonlySet<number> = new Set([10, 11]);

export function isGatewayNoAnswer(err: unknown): err is ModbusExceptionError {
  return err instanceof ModbusExceptionError && GATEWAY_EXCEPTIONS.has(err.exceptionCode);
}

/** No answer within the request's timeout. The connection stays usable. */
export class ModbusTimeoutError extends ModbusError {
  override name = "ModbusTimeoutError";
  constructor(
    readonly unitId: number,
    readonly timeoutMs: number,
  ) {
    super(`unit ${unitId}: no response within ${timeoutMs} ms`);
  }
}

/** The connection is not open, or closed while the request waited. */
export class ModbusDisconnectedError extends ModbusError {
  override name = "ModbusDisconnectedError";
  constructor(
    readonly endpoint: string,
    detail?: string,
  ) {
    super(`${endpoint}: disconnected${detail ? ` (${detail})` : ""}`);
  }
}

/** The response was well framed but does not fit the request (wrong length, wrong function). */
export class ModbusResponseError extends ModbusError {
  override name = "ModbusResponseError";
}
