// Aligns several tags onto one time grid so each row holds one value per tag. Tags are
// polled at different rates and readings go missing; a short gap is bridged by carrying
// the last value forward, a long one drops the row rather than inventing data.

import type { TimeSeries } from "../core/series.js";

export interface GridOptions {
  /** Step of the grid; a cell covers [k * gridMs, (k + 1) * gridMs). */
  gridMs: number;
  /** Cells a value may be carried past the cell it was read in. */
  maxFillSteps: number;
}

export interface AlignedRows {
  /** Start of each row's cell, ascending. */
  ts: number[];
  /** Tag names in the order of each row's values. */
  columns: string[];
  rows: number[][];
  /** Rows kept in which at least one value was carried forward. */
  filledRows: number;
  /** Cells holding a reading that were left out because another tag had no value. */
  droppedRows: number;
}

interface Cursor {
  series: TimeSeries;
  next: number;
  lastCell: number | undefined;
  lastValue: number;
}

/**
 * Takes the last reading of each tag in every cell; a tag without a reading in a cell
 * keeps its previous value for at most maxFillSteps cells. Series must be ascending by ts.
 */
export function alignToGrid(
  columns: readonly string[],
  series: ReadonlyMap<string, TimeSeries>,
  options: GridOptions,
): AlignedRows {
  const { gridMs, maxFillSteps } = options;
  if (!(gridMs > 0)) throw new RangeError(`gridMs must be > 0, got ${gridMs}`);
  const empty: TimeSeries = { ts: [], values: [] };
  const cursors: Cursor[] = columns.map((tag) => ({
    series: series.get(tag) ?? empty,
    next: 0,
    lastCell: undefined,
    lastValue: Number.NaN,
  }));
  const out: AlignedRows = {
    ts: [],
    columns: [...columns],
    rows: [],
    filledRows: 0,
    droppedRows: 0,
  };

  for (const cell of candidateCells(cursors, gridMs)) {
    const row: number[] = [];
    let filled = false;
    for (const cursor of cursors) {
      advance(cursor, cell, gridMs);
      const age = cursor.lastCell === undefined ? Infinity : cell - cursor.lastCell;
      if (age > maxFillSteps) break;
      if (age > 0) filled = true;
      row.push(cursor.lastValue);
    }

    if (row.length < cursors.length) {
      out.droppedRows++;
      continue;
    }
    out.ts.push(cell * gridMs);
    out.rows.push(row);
    if (filled) out.filledRows++;
  }
  return out;
}

/** Moves a cursor past every reading in cells up to `cell`, keeping the last one. */
function advance(cursor: Cursor, cell: number, gridMs: number): void {
  const { ts, values } = cursor.series;
  while (cursor.next < ts.length) {
    const readingCell = Math.floor((ts[cursor.next] as number) / gridMs);
    if (readingCell > cell) break;
    cursor.lastCell = readingCell;
    cursor.lastValue = values[cursor.next] as number;
    cursor.next++;
  }
}

/**
 * A row needs at least one fresh reading: a cell where every tag would be carried forward
 * only repeats the row before it. Listing just these cells also keeps a long outage (days
 * of empty cells) from costing a loop iteration per cell.
 */
function candidateCells(cursors: Cursor[], gridMs: number): number[] {
  const cells = new Set<number>();
  for (const { series } of cursors) {
    for (const ts of series.ts) cells.add(Math.floor(ts / gridMs));
  }
  return [...cells].sort((a, b) => a - b);
}
