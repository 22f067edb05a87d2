"""The wire formats the drivers speak, by registry name.

Each :class:`Protocol` ties a decoder (host side) to the matching encoder (device
side, used by the virtual mat), with what a session needs to talk to such a
device: the default shape and baud rate, whether the host polls for each frame,
and whether frames carry a scan counter and a device clock.
"""

import dataclasses
from typing import Callable, Optional

from . import pmat1
from . import csv_rows, kitronyx, sensitronics


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A wire format: its decoder, its encoder and how a session drives it.

    Parameters
    ----------
    name : str
        Registry name, as passed to ``open_mat(url, protocol=name)``.
    description : str
        One line for ``plantar devices`` and error messages.
    parser : type
        The :class:`~plantar.drivers.FrameParser` subclass; ``parser(shape=...)``.
    encode : callable
        Device side: ``encode(counts, *, seq, t_device_us, flags) -> bytes`` for
        one frame.
    default_shape : tuple of int | None
        ``(rows, cols)`` when the device cannot say; None if the stream carries it.
    baudrate : int
        Default baud rate (ignored by USB CDC devices and ptys).
    poll : bytes | None
        Bytes that ask the device for one frame; None for free-running devices.
    has_seq : bool
        Frames carry the device's scan counter, so lost frames are counted exactly.
    has_clock : bool
        Frames carry the device clock.
    max_count : int
        Largest count a frame can hold in this format.
    """

    name: str
    description: str
    parser: type
    encode: Callable
    default_shape: Optional[tuple] = None
    baudrate: int = 115200
    poll: Optional[bytes] = None
    has_seq: bool = False
    has_clock: bool = False
    max_count: int = 65535


PROTOCOLS = {}


def register_protocol(protocol):
    """Add a :class:`Protocol` to those the drivers know.

    Parameters
    ----------
    protocol : Protocol
        The protocol; its name must not be taken yet.

    Examples
    --------
    >>> from plantar.drivers import PROTOCOLS
    >>> "pmat1" in PROTOCOLS
    True
    """
    if protocol.name in PROTOCOLS:
        raise ValueError(f"a protocol named {protocol.name!r} is already registered")
    PROTOCOLS[protocol.name] = protocol


def get_protocol(name):
    """Return the registered :class:`Protocol` called ``name``.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"pmat1"``.

    Returns
    -------
    protocol : Protocol

    Examples
    --------
    >>> from plantar.drivers import get_protocol
    >>> get_protocol("pmat1").has_seq
    True
    """
    try:
        return PROTOCOLS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"protocol must be one of {tuple(PROTOCOLS)}, got {name!r}"
        ) from None


def _encode_pmat1(counts, *, seq, t_device_us, flags=0, encoding=pmat1.ENCODING_ZERO_RUN):
    return pmat1.encode_frame(counts, seq=seq, t_device_us=t_device_us, encoding=encoding, flags=flags)


register_protocol(
    Protocol(
        name="pmat1",
        description="PMAT/1, plantar's reference protocol (CRC-checked, scan counter, device clock)",
        parser=pmat1.Pmat1Parser,
        encode=_encode_pmat1,
        default_shape=None,
        baudrate=115200,
        poll=None,
        has_seq=True,
        has_clock=True,
    )
)


register_protocol(
    Protocol(
        name="sensitronics-zrle",
        description="Sensitronics FSR matrix array (u8 cells, zero runs, FF ends a frame; free-running)",
        parser=sensitronics.SensitronicsParser,
        encode=sensitronics.encode_frame,
        default_shape=sensitronics.DEFAULT_SHAPE,
        baudrate=115200,
        poll=None,
        has_seq=False,
        has_clock=False,
        max_count=sensitronics.MAX_VALUE,
    )
)

register_protocol(
    Protocol(
        name="kitronyx-csv",
        description="Kitronyx Snowboard (one CSV line of u8 cells per poll 'A')",
        parser=kitronyx.KitronyxParser,
        encode=kitronyx.encode_frame,
        default_shape=kitronyx.DEFAULT_SHAPE,
        baudrate=115200,
        poll=kitronyx.POLL,
        has_seq=False,
        has_clock=False,
        max_count=kitronyx.MAX_VALUE,
    )
)

register_protocol(
    Protocol(
        name="csv-rows",
        description="generic microcontroller mat (one text line per row, a blank or marker line after each scan)",
        parser=csv_rows.CsvRowsParser,
        encode=csv_rows.encode_frame,
        default_shape=None,
        baudrate=115200,
        poll=None,
        has_seq=False,
        has_clock=False,
        max_count=csv_rows.MAX_VALUE,
    )
)
