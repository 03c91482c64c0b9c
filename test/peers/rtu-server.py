"""A pymodbus 3.0 Modbus RTU server with several units on one bus, for the RTU transport tests.

Usage:
  /usr/bin/python3 rtu-server.py serial PATH UNITS   RTU on a serial port (a socat pty)
  /usr/bin/python3 rtu-server.py tcp PORT UNITS      RTU frames over TCP on 127.0.0.1:PORT

UNITS is JSON: {"1": [{"address": 0, "type": "float32", "value": 21.5}, ...], "2": [...]}.
An entry may also name its "table" (default holdingRegister) and its "order" (ABCD, CDAB,
BADC or DCBA; default ABCD); type bool goes into a coil or discrete input. Values are
written by pymodbus's own BinaryPayloadBuilder; 64-bit integers come as decimal strings,
"nan" is a float. Each table holds 100 entries at zero-based protocol addresses. Units not
listed are not served: pymodbus's RTU framer ignores their requests, as an absent device
would. The serial
side runs at 19200 baud 8N1: pyserial cannot set parity on a pty (EINVAL), and a pty carries
bytes whatever the framing. Prints "ready" on stdout once it listens.
"""

import asyncio
import json
import os
import sys

from pymodbus.datastore import ModbusServerContext
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer

# peer_registers.py sits beside this script: find it even where Python leaves the script's
# folder off sys.path (python3 -P, PYTHONSAFEPATH), and leave no __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_registers import FUNCTION, registers, sequential_store  # noqa: E402


def unit_store(entries):
    store = sequential_store(100)
    for entry in entries:
        fc = FUNCTION[entry.get("table", "holdingRegister")]
        if entry["type"] == "bool":
            store.setValues(fc, entry["address"], [bool(entry["value"])])
            continue
        values = registers(entry["type"], entry["value"], entry.get("order", "ABCD"))
        store.setValues(fc, entry["address"], values)
    return store


async def serve(kind, where, context):
    if kind == "serial":
        server = await StartAsyncSerialServer(
            context=context,
            framer=ModbusRtuFramer,
            port=where,
            baudrate=19200,
            parity="N",
            bytesize=8,
            stopbits=1,
            defer_start=True,
        )
        await server.start()
        if server.transport is None:
            sys.exit(f"could not open {where}")
        print("ready", flush=True)
        await server.serve_forever()
    else:
        server = await StartAsyncTcpServer(
            context=context,
            address=("127.0.0.1", int(where)),
            framer=ModbusRtuFramer,
            # A restarted server binds the port its predecessor left in TIME_WAIT.
            allow_reuse_address=True,
            defer_start=True,
        )
        task = asyncio.create_task(server.serve_forever())
        # A failed bind ends the task and never sets `serving`: wait for whichever comes.
        await asyncio.wait({task, server.serving}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        print("ready", flush=True)
        await task


def main():
    kind, where, units = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    slaves = {int(unit): unit_store(entries) for unit, entries in units.items()}
    context = ModbusServerContext(slaves=slaves, single=False)
    asyncio.run(serve(kind, where, context))


if __name__ == "__main__":
    main()
