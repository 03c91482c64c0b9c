"""What the pymodbus 3.0 peers put in their registers, shared by cli-peer.py,
pymodbus-server.py and rtu-server.py: values encoded by pymodbus's own BinaryPayloadBuilder,
so that plantgate's decoding is checked against an independent encoder.
"""

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder

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


def registers(kind, value, order="ABCD"):
    """The registers pymodbus's builder writes for one value of type `kind`.

    64-bit integers come as decimal strings, which JSON numbers would round; "nan", "inf"
    and "-inf" are floats.
    """
    byteorder, wordorder = ORDERS[order]
    if kind == "string":
        # add_string ignores the byte order; repack swaps the bytes of each register for
        # BADC and DCBA, as a device that stores text little-endian would.
        builder = BinaryPayloadBuilder(byteorder=byteorder, repack=True)
        builder.add_string(value)
        return builder.to_registers()
    builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    if kind.startswith("float"):
        value = float(value)
    elif isinstance(value, str):
        value = int(value)
    getattr(builder, ADD[kind])(value)
    return builder.to_registers()


def sequential_store(size):
    """A unit with `size` zeroed entries in each table, at zero-based protocol addresses."""
    return ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [False] * size),
        di=ModbusSequentialDataBlock(0, [False] * size),
        hr=ModbusSequentialDataBlock(0, [0] * size),
        ir=ModbusSequentialDataBlock(0, [0] * size),
        zero_mode=True,
    )
