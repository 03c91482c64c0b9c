"""A pymodbus 3.0 TCP server holding values written by pymodbus's own BinaryPayloadBuilder.

Usage: /usr/bin/python3 pymodbus-server.py PORT ENTRIES [HOLES]

ENTRIES: '[{"table": "holdingRegister", "address": 0, "type": "float32", "order": "CDAB",
"value": 21.5}, ...]'. Types: bool, int16, uint16, int32, uint32, int64, uint64, float32,
float64, string. 64-bit integers come as decimal strings, which JSON numbers would round;
"nan", "inf" and "-inf" are floats.

HOLES: '[["holdingRegister", 100], ...]': addresses missing from the map; a read touching one
gets exception 2 (illegal data address), as from a device with gaps in its register map.

Addresses are zero-based protocol addresses (zero_mode). Each table holds 400 entries;
reads beyond them get exception 2 too.
"""

import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartTcpServer

SIZE = 400

# Telegraf's order names as pymodbus's (byte order within a register, register order).
ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}
ADD = {
    "int16": "add_16bit_int",
    "uint16": "add_16bit_uint",
    "int32": "add_32bit_int",
    "uint32": "add_32bit_uint",
    "int64": "add_64bit_int",
    "uint64": "add_64bit_uint",
    "float32": "add_32bit_float",
    "float64": "add_64bit_float",
}
FUNCTION = {"coil": 1, "discreteInput": 2, "holdingRegister": 3, "inputRegister": 4}
SHORT = {"coil": "co", "discreteInput": "di", "holdingRegister": "hr", "inputRegister": "ir"}


def registers(entry):
    """The registers pymodbus's builder writes for one entry."""
    byteorder, wordorder = ORDERS[entry["order"]]
    if entry["type"] == "string":
        # add_string ignores the byte order; repack swaps the bytes of each register for
        # BADC and DCBA, as a device that stores text little-endian would.
        builder = BinaryPayloadBuilder(byteorder=byteorder, repack=True)
        builder.add_string(entry["value"])
        return builder.to_registers()
    builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    value = entry["value"]
    if entry["type"].startswith("float"):
        value = float(value)
    elif isinstance(value, str):
        value = int(value)
    getattr(builder, ADD[entry["type"]])(value)
    return builder.to_registers()


def main():
    port = int(sys.argv[1])
    entries = json.loads(sys.argv[2])
    holes = set()
    if len(sys.argv) > 3:
        holes = {(table, address) for table, address in json.loads(sys.argv[3])}
    blocks = {
        short: ModbusSparseDataBlock(
            {a: 0 for a in range(SIZE) if (table, a) not in holes}, mutable=False
        )
        for table, short in SHORT.items()
    }
    store = ModbusSlaveContext(**blocks, zero_mode=True)
    for entry in entries:
        fc = FUNCTION[entry["table"]]
        if entry["type"] == "bool":
            store.setValues(fc, entry["address"], [bool(entry["value"])])
        else:
            store.setValues(fc, entry["address"], registers(entry))
    context = ModbusServerContext(slaves={1: store}, single=False)
    StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
