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
import os
import sys

from pymodbus.datastore import ModbusServerContext
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer

# peer_registers.py sits beside this script: find it even where Python leaves the script's
# folder off sys.path (python3 -P, PYTHONSAFEPATH), and leave no __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_registers import FUNCTION, registers, sequential_store  # noqa: E402


def main():
    port = int(sys.argv[1])
    spec = json.loads(sys.argv[2])
    store = sequential_store(200)
    for entry in spec["entries"]:
        fc = FUNCTION[entry["table"]]
        if entry["type"] == "bool":
            store.setValues(fc, entry["address"], [bool(v) for v in entry["value"]])
        else:
            values = registers(entry["type"], entry["value"], entry.get("order", "ABCD"))
            store.setValues(fc, entry["address"], values)
    context = ModbusServerContext(slaves={u: store for u in spec["units"]}, single=False)
    if "serial" in spec:
        StartSerialServer(
            context=context, framer=ModbusRtuFramer, port=spec["serial"], baudrate=19200
        )
    else:
        StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
