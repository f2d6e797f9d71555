"""How many connections the HTTP server holds, and the open-file limit it raises to hold them."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from waitress.server import TcpWSGIServer
from waitress.wasyncore import close_all

from twoway.http_server import (
    FDS_PER_CONNECTION,
    MAX_CONNECTIONS,
    RESERVED_FDS,
    connection_limit,
    create_server,
)


@pytest.mark.parametrize(
    ("open_files", "connections"),
    [
        (1_024, 384),  # a common soft limit, when the hard one allows no more
        (20_000, 9_872),
        (MAX_CONNECTIONS * FDS_PER_CONNECTION + RESERVED_FDS, MAX_CONNECTIONS),
        (1_048_576, MAX_CONNECTIONS),
        (100, 1),
    ],
)
def test_connection_limit_leaves_room_for_the_process_own_files(open_files: int, connections: int) -> None:
    assert connection_limit(open_files) == connections


# Started at a soft limit of 1,024 open files, as systemd and most shells start a service.
_CHILD = """
import json, resource
from twoway.http_server import create_server
before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
server = create_server(lambda environ, start_response: [], "127.0.0.1", 0)
print(json.dumps({
    "before": before,
    "after": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    "connection_limit": server.adj.connection_limit,
    "use_poll": server.adj.asyncore_use_poll,
}))
server.close()
"""


def _soft_limit_1024() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


def test_the_server_raises_a_soft_open_file_limit_of_1024_toward_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_CONNECTIONS * FDS_PER_CONNECTION + RESERVED_FDS
    expected = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        preexec_fn=_soft_limit_1024,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(child.stdout.splitlines()[-1])
    assert seen == {
        "before": 1024,
        "after": expected,
        "connection_limit": connection_limit(expected),
        # select() could not watch the sockets numbered 1,024 and above that the new limit allows.
        "use_poll": True,
    }


def _waiting_connections(server: TcpWSGIServer, count: int) -> list[socket.socket]:
    """``count`` connections the kernel has completed and queued for ``server`` to accept."""
    host, port = server.getsockname()[:2]
    return [socket.create_connection((host, port), timeout=5) for _ in range(count)]


@pytest.fixture
def server() -> Iterator[TcpWSGIServer]:
    server = create_server(lambda environ, start_response: [], "127.0.0.1", 0)
    yield server
    server.close()
    close_all(server._map)  # type: ignore[attr-defined]


def test_the_server_accepts_every_waiting_connection_in_one_turn(server: TcpWSGIServer) -> None:
    # waitress alone accepts one a turn, and each turn visits every open connection: a thousand
    # opened at once then kept Slack's next request waiting 0.9 s (bench/slow_clients.py).
    clients = _waiting_connections(server, 500)
    before = len(server._map)  # type: ignore[attr-defined]
    server.handle_accept()
    assert len(server._map) - before == 500  # type: ignore[attr-defined]
    for client in clients:
        client.close()


def test_the_server_accepts_no_more_than_its_connection_limit(server: TcpWSGIServer) -> None:
    open_now = len(server._map)  # type: ignore[attr-defined]
    server.adj.connection_limit = open_now + 20
    clients = _waiting_connections(server, 50)
    server.handle_accept()
    assert len(server._map) == open_now + 20  # type: ignore[attr-defined]
    for client in clients:
        client.close()
