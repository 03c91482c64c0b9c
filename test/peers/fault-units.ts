// The register logic shared by the fault-injecting peers: a few units whose holding and input
// registers all hold `unitId * 10000 + counter`, the counter moving on with every read the
// unit answers. So a stored value names the unit that served it and proves a fresh read,
// and a reply taken for the wrong request shows up as a value from the wrong unit.
// Each unit carries a fault the test switches on and off; the framing side of a fault
// (silence, lateness, a bad CRC, noise) is acted out by the TCP or RTU peer.

/** What a unit does with the next request it is asked. */
export type Fault =
  | { kind: "none" }
  /** No reply at all. */
  | { kind: "silent" }
  /** The right reply, but only after `delayMs`. */
  | { kind: "late"; delayMs: number }
  /** A Modbus exception reply with this code. */
  | { kind: "exception"; code: number }
  /** RTU: the right reply with its CRC spoiled. */
  | { kind: "badCrc" }
  /** RTU: random bytes instead of a reply. */
  | { kind: "garbage" };

export const HEALTHY: Fault = { kind: "none" };

/** One read request as the peer saw it. */
export interface SeenRequest {
  ts: number;
  unitId: number;
  functionCode: number;
  address: number;
  quantity: number;
}

/** What the peer should put on the wire for one request. */
export interface Decision {
  fault: Fault;
  /** Function code and payload of the reply; undefined when the unit stays silent. */
  pdu?: Buffer;
  /** The register value served, for a normal reply. */
  value?: number;
}

const ILLEGAL_FUNCTION = 1;
const ILLEGAL_DATA_ADDRESS = 2;

/** The value every register of `unitId` holds after `counter` answered reads. */
export function registerValue(unitId: number, counter: number): number {
  return unitId * 10000 + (counter % 10000);
}

/** The unit that served a stored register value (see registerValue). */
export function unitOfValue(value: number): number {
  return Math.floor(value / 10000);
}

export class PeerUnits {
  readonly requests: SeenRequest[] = [];
  /** Values that went out after their request's timeout: never to be stored as good. */
  readonly lateValues = new Set<number>();
  private readonly counters = new Map<number, number>();
  private readonly faults = new Map<number, Fault>();

  constructor(readonly unitIds: readonly number[]) {
    for (const id of unitIds) this.counters.set(id, 0);
  }

  setFault(unitId: number, fault: Fault): void {
    this.faults.set(unitId, fault);
  }

  fault(unitId: number): Fault {
    return this.faults.get(unitId) ?? HEALTHY;
  }

  /** Reads a unit has been asked so far. */
  asked(unitId: number): number {
    return this.requests.filter((r) => r.unitId === unitId).length;
  }

  /** The reply to request PDU `pdu` (function code first) addressed to `unitId`. */
  decide(unitId: number, pdu: Buffer): Decision {
    const functionCode = pdu[0] ?? 0;
    const address = pdu.length >= 5 ? pdu.readUInt16BE(1) : -1;
    const quantity = pdu.length >= 5 ? pdu.readUInt16BE(3) : -1;
    this.requests.push({ ts: Date.now(), unitId, functionCode, address, quantity });
    const fault = this.fault(unitId);
    if (!this.counters.has(unitId) || fault.kind === "silent") return { fault };
    if (fault.kind === "exception") return { fault, pdu: exception(functionCode, fault.code) };
    if (functionCode !== 3 && functionCode !== 4) {
      return { fault, pdu: exception(functionCode, ILLEGAL_FUNCTION) };
    }
    if (quantity < 1 || quantity > 125 || address + quantity > 0x10000) {
      return { fault, pdu: exception(functionCode, ILLEGAL_DATA_ADDRESS) };
    }

    const counter = (this.counters.get(unitId) ?? 0) + 1;
    this.counters.set(unitId, counter);
    const value = registerValue(unitId, counter);
    if (fault.kind === "late") this.lateValues.add(value);
    const reply = Buffer.alloc(2 + quantity * 2);
    reply.writeUInt8(functionCode, 0);
    reply.writeUInt8(quantity * 2, 1);
    for (let i = 0; i < quantity; i++) reply.writeUInt16BE(value, 2 + i * 2);
    return { fault, pdu: reply, value };
  }
}

function exception(functionCode: number, code: number): Buffer {
  return Buffer.from([functionCode | 0x80, code]);
}
