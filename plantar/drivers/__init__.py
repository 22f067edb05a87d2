"""Acquisition from pressure mats on serial ports (USB CDC, UART, sockets).

Three layers, each usable on its own: :func:`open_port` opens any pyserial URL;
a decoder (:class:`FrameParser` subclass, one per wire format in
:data:`PROTOCOLS`) turns bytes into :class:`Frame` objects without touching a
port; :func:`open_mat` returns a session that owns the port and one reader
thread, keeps statistics, reconnects after an unplug and records to disk.
The virtual mat in :mod:`plantar.drivers.sim` speaks every format, so all of
this runs without hardware.
"""

from . import pmat1
from . import csv_rows, kitronyx, sensitronics
from ._frame import (
    FLAG_AFTER_LOSS,
    FLAG_AFTER_REBOOT,
    FLAG_AFTER_RECONNECT,
    FLAG_DEVICE_OVERRUN,
    FLAG_SATURATED,
    Frame,
    FrameParser,
    ParserStats,
)
from ._transport import PortError, list_ports, open_port
from .protocols import PROTOCOLS, Protocol, get_protocol, register_protocol
from .recorder import Recorder
from .session import DeviceError, Session, SessionStats, open_mat

__all__ = [
    "DeviceError",
    "FLAG_AFTER_LOSS",
    "FLAG_AFTER_REBOOT",
    "FLAG_AFTER_RECONNECT",
    "FLAG_DEVICE_OVERRUN",
    "FLAG_SATURATED",
    "Frame",
    "FrameParser",
    "PROTOCOLS",
    "ParserStats",
    "PortError",
    "Protocol",
    "Recorder",
    "Session",
    "SessionStats",
    "csv_rows",
    "get_protocol",
    "kitronyx",
    "list_ports",
    "open_mat",
    "open_port",
    "pmat1",
    "register_protocol",
    "sensitronics",
]
