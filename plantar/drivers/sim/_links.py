"""The virtual mat's side of a link: a pseudo-terminal or a TCP server on localhost.

Both are non-blocking and give the mat's thread file descriptors to ``select`` on.
``write`` returns how many bytes the link took (0 when it is full); bytes written
while nobody is connected are lost, as on a real device.
"""

import contextlib
import os
import socket

from ...utils import logger


class PtyLink:
    """A pty whose slave end the host opens through a stable symlink.

    The slave fd stays open for the link's lifetime, in raw mode: once every
    slave fd is closed, reads on the master fail with EIO.
    """

    kind = "pty"

    def __init__(self, directory):
        self.path = os.path.join(directory, "virtual-mat")
        self.master = self.slave = None

    @property
    def url(self):
        return self.path

    @property
    def up(self):
        return self.master is not None

    def open(self):
        import tty  # POSIX only

        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)
        logger.debug("virtual mat: %s -> %s", self.path, os.ttyname(slave))

    def close(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self.master, self.slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = None

    def read_fds(self):
        return [] if self.master is None else [self.master]

    def write_fd(self):
        return self.master

    def read(self, fd):
        try:
            return os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as err:  # EIO cannot happen while the slave is open; be safe
            logger.debug("virtual mat: pty read failed: %s", err)
            return b""

    def write(self, data):
        try:
            return os.write(self.master, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as err:
            logger.debug("virtual mat: pty write failed: %s", err)
            return 0


class TcpLink:
    """A TCP server on 127.0.0.1 serving one client at a time (the newest wins)."""

    kind = "tcp"

    def __init__(self):
        self.port = 0
        self.server = self.client = None

    @property
    def url(self):
        return f"socket://127.0.0.1:{self.port}"

    @property
    def up(self):
        return self.server is not None

    def open(self):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("127.0.0.1", self.port))
            server.listen(1)
        except OSError:
            server.close()
            raise
        server.setblocking(False)
        self.server = server
        self.port = server.getsockname()[1]
        logger.debug("virtual mat: listening on %s", self.url)

    def _drop_client(self):
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
            self.client = None

    def close(self):
        self._drop_client()
        if self.server is not None:
            with contextlib.suppress(OSError):
                self.server.close()
            self.server = None

    def read_fds(self):
        fds = [] if self.server is None else [self.server.fileno()]
        return fds if self.client is None else fds + [self.client.fileno()]

    def write_fd(self):
        return None if self.client is None else self.client.fileno()

    def read(self, fd):
        if self.server is not None and fd == self.server.fileno():
            try:
                client, address = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return b""
            self._drop_client()
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.client = client
            logger.debug("virtual mat: client %s connected", address)
            return b""
        if self.client is None or fd != self.client.fileno():
            return b""
        try:
            data = self.client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data = b""
        if not data:
            logger.debug("virtual mat: client disconnected")
            self._drop_client()
        return data

    def write(self, data):
        if self.client is None:
            return len(data)  # nobody listens: the bytes are lost
        try:
            return self.client.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self._drop_client()
            return len(data)
