"""Opening ports by URL: loop://, spy://, a pty held exclusively, and ports that are not there."""

import os
import tty

import pytest

from plantar.drivers import PortError, list_ports, open_port


def test_loop_url():
    port = open_port("loop://")
    port.write(b"PMAT")
    assert port.read(4) == b"PMAT"
    port.close()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys")
def test_spy_url_logs_the_traffic(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    log = tmp_path / "spy.txt"
    try:
        port = open_port(f"spy://{os.ttyname(slave)}?file={log}")
        os.write(master, b"\x50\x4d")
        assert port.read(2) == b"PM"
        port.close()
    finally:
        os.close(master)
        os.close(slave)
    assert "50 4D" in log.read_text().upper()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys")
def test_a_port_is_held_exclusively():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        first = open_port(os.ttyname(slave))
        with pytest.raises(PortError, match=rf"{os.ttyname(slave)}.*in use by another program"):
            open_port(os.ttyname(slave))
        first.close()
        open_port(os.ttyname(slave)).close()  # free again once closed
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize(
    "url, phrase",
    [("/dev/plantar-missing", "no such port"), ("socket://127.0.0.1:9", "refused"), ("nope://x", "nope")],
)
def test_ports_that_cannot_open_name_themselves(url, phrase):
    with pytest.raises(PortError, match=phrase) as info:
        open_port(url)
    assert url in str(info.value) and "\n" not in str(info.value)


def test_list_ports_gives_usb_identity_fields():
    for port in list_ports():
        assert {"device", "description", "vid", "pid", "serial_number"} <= set(port)
