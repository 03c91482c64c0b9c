"""A pymodbus 3.0 TCP server for the commissioning CLI's tests: several unit ids, values
written by pymodbus's own BinaryPayloadBuilder.

Usage: /usr/bin/python3 cli-peer.py PORT '{"units": [1, 3], "entries": [{"table":
"holdingRegister", "address": 0, "type": "float32", "order": "CDAB", "value": 21.5}, ...]}'

With "serial": PATH it serves Modbus RTU on that port at 19200 baud instead (PORT unused).
Every unit serves the same values. Addresses are zero-based protocol addresses (zero_mode);
each table holds 200 entries, so reads beyond them get exception 2 (illegal data address).
pymodbus 3.0's framer drops requests for a unit it does not serve: they get no reply.
Coils and discrete inputs take a list of booleans from their address on.
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
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer

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
    "int64": "add_64bit_int",
    "uint64": "add_64bit_uint",
    "float64": "add_64bit_float",
    "string": "add_string",
}
FUNCTION = {"coil": 1, "discreteInput": 2, "holdingRegister": 3, "inputRegister": 4}


def registers(entry):
    byteorder, wordorder = ORDERS[entry.get("order", "ABCD")]
    builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    value = entry["value"]
    # 64-bit integers beyond 2^53 come as strings: JSON numbers in JavaScript are doubles.
    if isinstance(value, str) and entry["type"] != "string":
        value = int(value)
    getattr(builder, ADD[entry["type"]])(value)
    return builder.to_registers()


def main():
    port = int(sys.argv[1])
    spec = json.loads(sys.argv[2])
    store = ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [False] * 200),
        di=ModbusSequentialDataBlock(0, [False] * 200),
        hr=ModbusSequentialDataBlock(0, [0] * 200),
        ir=ModbusSequentialDataBlock(0, [0] * 200),
        zero_mode=True,
    )
    for entry in spec["entries"]:
        fc = FUNCTION[entry["table"]]
        if entry["type"] == "bool":
            store.setValues(fc, entry["address"], [bool(v) for v in entry["value"]])
        else:
            store.setValues(fc, entry["address"], registers(entry))
    context = ModbusServerContext(slaves={u: store for u in spec["units"]}, single=False)
    if "serial" in spec:
        StartSerialServer(
            context=context, framer=ModbusRtuFramer, port=spec["serial"], baudrate=19200
        )
    else:
        StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
