"""A pymodbus 3.0 TCP server holding values written by pymodbus's own BinaryPayloadBuilder.

Usage: /usr/bin/python3 pymodbus-server.py PORT '[{"table": "holdingRegister",
"address": 0, "type": "float32", "order": "CDAB", "value": 21.5}, ...]'

Addresses are zero-based protocol addresses (zero_mode). Each table holds 200 entries;
reads beyond them get exception 2 (illegal data address).
"""

import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartTcpServer

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
    "float32": "add_32bit_float",
}
FUNCTION = {"coil": 1, "discreteInput": 2, "holdingRegister": 3, "inputRegister": 4}


def main():
    port = int(sys.argv[1])
    entries = json.loads(sys.argv[2])
    store = ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [False] * 200),
        di=ModbusSequentialDataBlock(0, [False] * 200),
        hr=ModbusSequentialDataBlock(0, [0] * 200),
        ir=ModbusSequentialDataBlock(0, [0] * 200),
        zero_mode=True,
    )
    for entry in entries:
        fc = FUNCTION[entry["table"]]
        if entry["type"] == "bool":
            store.setValues(fc, entry["address"], [bool(entry["value"])])
            continue
        byteorder, wordorder = ORDERS[entry["order"]]
        builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
        getattr(builder, ADD[entry["type"]])(entry["value"])
        store.setValues(fc, entry["address"], builder.to_registers())
    context = ModbusServerContext(slaves={1: store}, single=False)
    StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
