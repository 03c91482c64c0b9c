// RtuTransport built from an `rtu` or `rtuOverTcp` connection's config.

import type { RtuConnectionConfig, RtuOverTcpConnectionConfig } from "../../config/schema.js";
import type { Logger } from "../../core/logger.js";
import { frameGapMs, transmitMs } from "./rtu-timing.js";
import { RtuTransport } from "./rtu-transport.js";
import { SerialLine } from "./serial-line.js";
import { SocketLine } from "./socket-line.js";
import type { Timers } from "./tcp-transport.js";

interface Deps {
  logger: Logger;
  timers?: Timers;
}

/** An RTU bus on a local serial port. */
export function createSerialRtuTransport(c: RtuConnectionConfig, deps: Deps): RtuTransport {
  const { path, baudRate, parity, dataBits, stopBits } = c;
  return new RtuTransport({
    line: new SerialLine({ path, baudRate, parity, dataBits, stopBits }),
    frameGapMs: c.frameGapMs ?? frameGapMs(c),
    transmitMs: (bytes) => transmitMs(bytes, c),
    echo: c.echo,
    reconnect: c.reconnect,
    logger: deps.logger,
    timers: deps.timers,
  });
}

/**
 * An RTU bus behind a serial device server. The server paces the serial side itself, so
 * no gap is kept on the TCP side unless `frameGapMs` asks for one (servers that pass bytes
 * through without buffering whole frames).
 */
export function createTcpRtuTransport(c: RtuOverTcpConnectionConfig, deps: Deps): RtuTransport {
  return new RtuTransport({
    line: new SocketLine({
      host: c.host,
      port: c.port,
      // A TCP handshake over a cellular link can take longer than a LAN request timeout.
      connectTimeoutMs: Math.max(c.timeoutMs, 3000),
    }),
    frameGapMs: c.frameGapMs ?? 0,
    reconnect: c.reconnect,
    logger: deps.logger,
    timers: deps.timers,
  });
}
