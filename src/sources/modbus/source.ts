// One Modbus connection as the composition root sees it: the transport its type calls for
// and the poller that drives it. The poller only ever speaks PDUs to the transport.

import type { ConnectionConfig, TcpConnectionConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Logger } from "../../core/logger.js";
import type { ReadingSink } from "../../core/reading.js";
import { ModbusPoller } from "./poller.js";
import { createSerialRtuTransport, createTcpRtuTransport } from "./rtu-connection.js";
import { TcpTransport, type Timers } from "./tcp-transport.js";
import type { ModbusTransport } from "./transport.js";

export interface ModbusSourceDeps {
  sink: ReadingSink;
  events: EventSink;
  clock: Clock;
  logger: Logger;
  timers?: Timers;
}

/** The transport for a connection's type. */
export function createTransport(
  connection: ConnectionConfig,
  deps: Pick<ModbusSourceDeps, "logger" | "timers">,
): ModbusTransport {
  const logger = deps.logger.child({ component: "modbus-transport", connection: connection.name });
  switch (connection.type) {
    case "tcp":
      return new TcpTransport({
        host: connection.host,
        port: connection.port,
        reconnect: connection.reconnect,
        // A TCP handshake over a cellular link can take longer than a LAN request timeout.
        connectTimeoutMs: Math.max(connection.timeoutMs, 3000),
        maxInFlight: connectionInFlight(connection),
        logger,
        timers: deps.timers,
      });
    case "rtu":
      return createSerialRtuTransport(connection, { logger, timers: deps.timers });
    case "rtuOverTcp":
      return createTcpRtuTransport(connection, { logger, timers: deps.timers });
  }
}

/**
 * Transactions a TCP connection may have in flight: its own maxInFlight (the server's
 * limit), else the largest of its devices', so that a device that pipelines can.
 */
export function connectionInFlight(connection: TcpConnectionConfig): number {
  const devices = connection.devices.map((d) => d.maxInFlight);
  return connection.maxInFlight ?? Math.max(1, ...devices);
}

/** The transport and poller of one connection, for the composition root to start in order. */
export function createModbusSource(
  connection: ConnectionConfig,
  deps: ModbusSourceDeps,
): { transport: ModbusTransport; poller: ModbusPoller } {
  const transport = createTransport(connection, deps);
  const poller = new ModbusPoller({
    connection,
    transport,
    sink: deps.sink,
    events: deps.events,
    clock: deps.clock,
    logger: deps.logger.child({ component: "poller", connection: connection.name }),
    timers: deps.timers,
  });
  return { transport, poller };
}
