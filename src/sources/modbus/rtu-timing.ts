// Timing of an RTU line. A Modbus RTU receiver finds the end of a frame by silence: 3.5
// character times with nothing on the wire. A master that starts its next request sooner
// glues it onto the previous frame in the eyes of every device on the bus.

export interface SerialFraming {
  baudRate: number;
  parity: "none" | "even" | "odd";
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

/** Above this baud rate the spec fixes the inter-frame silence instead of scaling it. */
const FIXED_GAP_ABOVE_BAUD = 19200;
const FIXED_GAP_MS = 1.75;

/**
 * Bits a character occupies on the wire: a start bit, the data bits, the parity bit if any,
 * and the stop bits. 8E1 and 8N2 (the RTU standard's) are 11, 8N1 is 10, 8E2 is 12.
 */
export function characterBits(
  framing: Pick<SerialFraming, "parity" | "dataBits" | "stopBits">,
): number {
  return 1 + framing.dataBits + (framing.parity === "none" ? 0 : 1) + framing.stopBits;
}

/** Time to put `bytes` characters on the wire. */
export function transmitMs(bytes: number, framing: SerialFraming): number {
  return (bytes * characterBits(framing) * 1000) / framing.baudRate;
}

/** The silent interval between frames: 3.5 characters, fixed at 1.75 ms above 19200 baud. */
export function frameGapMs(framing: SerialFraming): number {
  if (framing.baudRate > FIXED_GAP_ABOVE_BAUD) return FIXED_GAP_MS;
  return transmitMs(3.5, framing);
}
