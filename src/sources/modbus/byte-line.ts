// A byte line: what an RTU transport needs from the wire under it, a serial port or a TCP
// socket to a serial device server. Small enough for a test to hand in a scripted line.

export interface LineHandlers {
  /** Bytes received, in whatever chunks the operating system delivers them. */
  data(chunk: Buffer): void;
  /** The line closed by itself (adapter unplugged, peer closed); called once per open. */
  closed(reason: string): void;
}

export interface ByteLine {
  /** "serial:///dev/ttyUSB0" or "rtu+tcp://host:port", for logs and errors. */
  readonly endpoint: string;
  /** Opens the line; rejects with the reason when it cannot be opened. */
  open(handlers: LineHandlers): Promise<void>;
  /** Queues bytes for transmission; a failed write shows up as `closed`. */
  write(bytes: Buffer): void;
  /** Closes the line; `closed` is not called for a close asked for. */
  close(): Promise<void>;
}
