"""A Modbus TCP peer that serves the rows of ccpp.csv through pymodbus.

Holding registers, one contiguous block, big-endian bytes and words (ABCD):
  0 AT, 2 V, 4 AP, 6 RH, 8 PE   float32
  10 step                       uint32, 1 for the first row served, +1 per row
  12 csv_row                    uint32, the row's index in the CSV (0 = first data row)

Serving starts at the first read. The sequence: the first --normal-rows rows in the
file's order, then a stretch of --low-rows rows taken from the lowest-output end of the
data set (lowest PE first), then --tail-rows further rows in file order. One row per
--step-ms, held longer (up to --hold-ms) until it has been read at least once. Every row
served is logged as a JSON line to --log, and so is every row that had to be held. "listening" is printed on stdout once the port
is open.
"""

import argparse
import asyncio
import csv
import json
import sys
import time

from pymodbus.constants import Endian
from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartAsyncTcpServer

FIELDS = ["AT", "V", "AP", "RH", "PE"]
HOLDING = 3


class WatchedBlock(ModbusSequentialDataBlock):
    """A datablock that counts reads, so serving starts when the client is there and a row
    is not replaced before anyone could read it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.first_read = asyncio.Event()
        self.reads = 0

    def getValues(self, address, count=1):
        self.reads += 1
        self.first_read.set()
        return super().getValues(address, count)


def read_rows(path):
    with open(path, newline="") as f:
        return [[float(r[k]) for k in FIELDS] for r in csv.DictReader(f)]


def sequence(rows, normal, low, tail):
    order = list(range(min(normal, len(rows))))
    lowest = sorted(range(len(rows)), key=lambda i: rows[i][4])[:low]
    order += lowest
    order += list(range(normal, min(normal + tail, len(rows))))
    return order, len(order) - tail - low


def registers(row, step, csv_row):
    b = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=Endian.Big)
    for v in row:
        b.add_32bit_float(v)
    b.add_32bit_uint(step)
    b.add_32bit_uint(csv_row)
    return b.to_registers()


async def advance(context, block, rows, order, low_start, args, log):
    for i, csv_row in enumerate(order):
        step = i + 1
        regs = registers(rows[csv_row], step, csv_row)
        # One setValues call: a poll sees either the old row or the new one, never a mix.
        context[0].setValues(HOLDING, 0, regs)
        reads = block.reads
        phase = "low" if low_start <= i < low_start + args.low_rows else "normal"
        entry = {"step": step, "csvRow": csv_row, "phase": phase, "ts": int(time.time() * 1000)}
        log.write(json.dumps(entry) + "\n")
        log.flush()
        await asyncio.sleep(args.step_ms / 1000)
        # The client polls several times per row. On a loaded machine a poll can come late;
        # the row is held for it up to --hold-ms, so the test checks the buffer, not the
        # scheduler. A client stalled longer than that misses the row, and the test says so.
        deadline = time.monotonic() + args.hold_ms / 1000
        held = block.reads == reads
        while block.reads == reads and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if held:
            log.write(json.dumps({"held": step, "read": block.reads > reads}) + "\n")
    log.write(json.dumps({"done": True, "ts": int(time.time() * 1000)}) + "\n")
    log.flush()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--csv", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--step-ms", type=float, default=50)
    p.add_argument("--normal-rows", type=int, default=1500)
    p.add_argument("--low-rows", type=int, default=150)
    p.add_argument("--tail-rows", type=int, default=100)
    p.add_argument("--hold-ms", type=float, default=2000)
    args = p.parse_args()

    rows = read_rows(args.csv)
    order, low_start = sequence(rows, args.normal_rows, args.low_rows, args.tail_rows)
    block = WatchedBlock(0, [0] * 32)
    context = ModbusServerContext(slaves=ModbusSlaveContext(hr=block), single=True)
    # The first row is in place before anyone can read, so no poll sees empty registers.
    context[0].setValues(HOLDING, 0, registers(rows[order[0]], 1, order[0]))

    server = asyncio.ensure_future(
        StartAsyncTcpServer(context, address=("127.0.0.1", args.port))
    )
    # Wait until the port accepts connections before announcing it.
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", args.port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    print("listening", flush=True)

    with open(args.log, "w") as log:
        # Rows advance from the first poll on: a row served to nobody could not be stored.
        await block.first_read.wait()
        await advance(context, block, rows, order, low_start, args, log)
    await server


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
