"""Slow HTTP clients, as a slowloris attack opens them: connections that send the start of a request
and wait, or that trickle it a byte at a time. None of them needs a signature."""

from __future__ import annotations

import resource
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The start of a request that never ends, as a hostile tester sends it.
HEAD = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"


@dataclass
class SlowClients:
    """The connections of `slow_clients`, idle ones first."""

    sockets: list[socket.socket] = field(default_factory=list)
    # Connections that could not be opened: the server's backlog was full and it accepted no more.
    unopened: int = 0

    def still_open(self) -> int:
        """How many the server has not closed (a closed one reads as end of file, or fails)."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                count += sock.recv(1) != b""
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count


def _allow_open_files(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count if hard == resource.RLIM_INFINITY else hard, hard))


def _connect(clients: SlowClients, url: str, count: int, first: bytes) -> list[socket.socket]:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    sockets: list[socket.socket] = []
    for opened in range(count):
        try:
            sock = socket.create_connection(address, timeout=3)
            sock.sendall(first)
        except OSError:
            # The rest would wait as long: count them and go on with those that are open.
            clients.unopened += count - opened
            break
        sockets.append(sock)
    clients.sockets += sockets
    return sockets


@contextmanager
def slow_clients(url: str, *, idle: int, trickling: int, every: float = 0.25) -> Iterator[SlowClients]:
    """``idle`` connections to ``url`` that sent `HEAD` and wait, and ``trickling`` ones that then send
    one more byte of a header that never ends every ``every`` seconds; closed when the block ends."""
    _allow_open_files(idle + trickling + 256)  # this process holds the connections too
    clients = SlowClients()
    stop = threading.Event()
    trickler = None
    try:
        _connect(clients, url, idle, HEAD)
        slow = _connect(clients, url, trickling, HEAD + b"X-Slow: ")

        def trickle() -> None:
            while not stop.wait(every):
                for sock in slow:
                    with suppress(OSError):  # closed by the server: `still_open` counts it
                        sock.send(b"a")

        trickler = threading.Thread(target=trickle, name="trickle", daemon=True)
        trickler.start()
        yield clients
    finally:
        stop.set()
        if trickler is not None:
            trickler.join(timeout=5)
        for sock in clients.sockets:
            sock.close()
