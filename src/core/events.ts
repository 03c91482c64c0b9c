// Events are the few things an operator or an auditor wants on record: a device going
// down or up, an alert raised or cleared, a model promoted, a buffer incident.

export type EventKind =
  | "device.down"
  | "device.up"
  | "device.degraded"
  | "alert.raised"
  | "alert.cleared"
  | "alert.unknown"
  | "alert.known"
  | "model.promoted"
  | "model.rejected"
  | "model.drift"
  | "model.unusable"
  | "model.failed"
  | "store.incident"
  | "store.retention"
  | "clock.jump"
  | "clock.synchronized"
  | "daemon.started"
  | "daemon.stopped";

export interface GatewayEvent {
  ts: number;
  kind: EventKind;
  /** The component or device the event is about. */
  source: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface EventSink {
  event(e: GatewayEvent): void;
}
