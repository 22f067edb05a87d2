"""Opening a port: any pyserial URL, exclusively, with short timeouts."""

import serial
import serial.tools.list_ports


class PortError(ConnectionError):
    """A port cannot be opened or was lost; the message names the port."""


def open_port(url, *, baudrate=115200, timeout_s=0.05, exclusive=True):
    """Open a serial port, or anything pyserial reaches by URL.

    Parameters
    ----------
    url : str
        A device (``/dev/ttyACM0``, ``COM3``) or a pyserial URL (``socket://host:port``,
        ``loop://``, ``spy://PORT?file=log.txt``, ...).
    baudrate : int
        Baud rate; ignored by USB CDC devices, ptys and sockets.
    timeout_s : float
        Read timeout in s: a read returns what arrived within this time, so a reader
        thread notices a stop request promptly.
    exclusive : bool
        Lock the port against other programs (POSIX); a second open then fails
        with a clear message instead of two programs stealing each other's bytes.

    Returns
    -------
    port : serial.SerialBase
        The open port.

    Raises
    ------
    PortError
        If the port does not exist, is in use, or cannot be configured; the
        message names the port.

    Examples
    --------
    >>> from plantar.drivers import open_port
    >>> port = open_port("loop://")
    >>> _ = port.write(b"ping")
    >>> port.read(4)
    b'ping'
    >>> port.close()
    """
    try:
        port = serial.serial_for_url(
            url, do_not_open=True, baudrate=baudrate, timeout=timeout_s, write_timeout=1.0
        )
    except (ValueError, serial.SerialException) as exc:
        raise PortError(f"cannot open port {url!r}: {_reason(exc)}") from exc
    if exclusive and hasattr(port, "exclusive"):
        try:
            port.exclusive = True
        except (ValueError, serial.SerialException):
            pass  # URL handlers without locking (loop://, socket://)
    try:
        port.open()
    except (OSError, ValueError, serial.SerialException) as exc:
        raise PortError(f"cannot open port {url!r}: {_reason(exc)}") from exc
    return port


def _reason(exc):
    """One short line saying why a port could not be opened."""
    text = str(exc)
    errno = getattr(exc, "errno", None)
    lowered = text.lower()
    if errno == 2 or "no such file" in lowered or "could not find" in lowered:
        return "no such port (plantar devices lists the serial ports)"
    if "exclusively lock" in lowered or errno in (11, 16) or "busy" in lowered:
        return "the port is in use by another program"
    if errno == 13 or "permission denied" in lowered:
        return "permission denied (on Linux, add yourself to the 'dialout' group)"
    if "connection refused" in lowered or errno == 111:
        return "connection refused (is the device or simulator running?)"
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def list_ports():
    """Return the serial ports of this computer, with their USB identity.

    Returns
    -------
    ports : list of dict
        One dict per port: ``device`` (path to open), ``description``, ``vid``
        and ``pid`` (USB vendor and product id, None for non-USB ports),
        ``serial_number``, ``manufacturer``, ``location``.

    Examples
    --------
    >>> from plantar.drivers import list_ports
    >>> isinstance(list_ports(), list)
    True
    """
    ports = []
    for info in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device):
        ports.append(
            {
                "device": info.device,
                "description": info.description,
                "vid": info.vid,
                "pid": info.pid,
                "serial_number": info.serial_number,
                "manufacturer": info.manufacturer,
                "location": info.location,
            }
        )
    return ports
