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
import os
import sys

from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import StartTcpServer

# peer_registers.py sits beside this script: find it even where Python leaves the script's
# folder off sys.path (python3 -P, PYTHONSAFEPATH), and leave no __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_registers import FUNCTION, registers  # noqa: E402

SIZE = 400
SHORT = {"coil": "co", "discreteInput": "di", "holdingRegister": "hr", "inputRegister": "ir"}


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
            values = registers(entry["type"], entry["value"], entry["order"])
            store.setValues(fc, entry["address"], values)
    context = ModbusServerContext(slaves={1: store}, single=False)
    StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
