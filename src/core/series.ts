// What learning reads from the buffer: good numeric readings per tag, oldest first,
// and the latest value of each tag as the poller saw it.

export interface TimeSeries {
  ts: number[];
  values: number[];
}

export interface HistorySource {
  /** Good numeric readings of each tag with fromTs <= ts < toTs, ascending by ts. */
  history(tags: readonly string[], fromTs: number, toTs: number): Map<string, TimeSeries>;
}

export interface LatestValue {
  ts: number;
  value: number;
}

export interface LatestSource {
  /** The newest good numeric reading of a tag, or undefined if none or its newest is bad. */
  latest(tag: string): LatestValue | undefined;
}

export interface RecentSource {
  /**
   * Good numeric readings of each tag from fromTs on, as the pollers delivered them (not
   * waiting for the buffer's next commit). Only a short span is kept: see RecentReadings.
   */
  recent(tags: readonly string[], fromTs: number): Map<string, TimeSeries>;
}

export interface Prediction {
  ts: number;
  /** The target the model predicts, `device.tag`. */
  target: string;
  value: number;
  /** The band from the holdout residuals' quantiles, when the model has one. */
  lower?: number;
  upper?: number;
  modelVersion: string;
}
