"""`twoway run` keeps answering while 1,000 idle and slow (trickling) connections are open.

A slowloris client opens a connection, sends part of a request and waits, or sends it a byte at a
time; none of it needs a signature. Slack and the load balancer's health check must still be answered
within a second (issue 13, defect 3).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import pytest

from tests.support.processes import http
from tests.support.stack import CHANNEL, TEAM, USER, Stack
from twoway.http_server import raise_open_file_limit

pytestmark = pytest.mark.e2e

IDLE = 700
TRICKLING = 500
# The start of a request that never ends, as the tester's repro sends it.
HEAD = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
# Each trickling connection sends one more byte of a header that never ends, this often.
TRICKLE_EVERY = 0.25
ANSWER_WITHIN = 1.0


def _connect(url: str, count: int, first: bytes) -> list[socket.socket]:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        sock.sendall(first)
        sockets.append(sock)
    return sockets


@contextmanager
def _slow_clients(url: str) -> Iterator[list[socket.socket]]:
    """IDLE connections that sent `HEAD` and wait, and TRICKLING ones that then send a byte every
    TRICKLE_EVERY seconds, open for as long as the block runs."""
    raise_open_file_limit()  # this process holds a thousand sockets too
    idle = _connect(url, IDLE, HEAD)
    trickling = _connect(url, TRICKLING, HEAD + b"X-Slow: ")
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(TRICKLE_EVERY):
            for sock in trickling:
                with suppress(OSError):  # closed by the server: counted at the end
                    sock.send(b"a")

    trickler = threading.Thread(target=trickle, name="trickle", daemon=True)
    trickler.start()
    try:
        yield idle + trickling
    finally:
        stop.set()
        trickler.join(timeout=5)
        for sock in idle + trickling:
            sock.close()


def _healthz_seconds(url: str) -> float:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=ANSWER_WITHIN * 3) as response:
            assert response.status == 200
    except (TimeoutError, urllib.error.URLError):
        pytest.fail(f"/healthz did not answer within {ANSWER_WITHIN * 3:g} s")
    return time.monotonic() - started


def _help_seconds(stack: Stack) -> float:
    """A signed `/twoway help`, as Slack delivers it (the emulator signs it), until its answer arrives."""
    payload = {"team": TEAM, "channel": CHANNEL, "user": USER, "command": "/twoway", "text": "help"}
    started = time.monotonic()
    status, seen = http("POST", stack.emulator_url + "/_emulator/command", {**payload, "linger": 0})
    elapsed = time.monotonic() - started
    assert status == 200, seen
    assert seen["ack"]["status"] == 200, json.dumps(seen["ack"])
    shown = [seen["ack"]["body"], *seen["responses"]]
    texts = [b.get("text") or "" for b in shown if isinstance(b, dict)]
    assert any(t.startswith("twoway commands: help") for t in texts), shown
    return elapsed


def _still_open(sockets: list[socket.socket]) -> int:
    """How many of ``sockets`` the server has not closed (a closed one reads as end of file)."""
    open_ = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            open_ += sock.recv(1) != b""
        except BlockingIOError:
            open_ += 1
        except OSError:
            pass
    return open_


def test_healthz_and_a_signed_help_answer_within_1s_beside_1000_idle_and_trickling_connections(
    http_stack: Stack,
) -> None:
    assert http_stack.app_url
    url = http_stack.app_url
    with _slow_clients(url) as slow:
        healthz = [_healthz_seconds(url) for _ in range(5)]
        helps = [_help_seconds(http_stack) for _ in range(3)]
        still_open = _still_open(slow)
    print(json.dumps({"healthz_s": healthz, "help_s": helps, "slow_still_open": still_open}))
    assert max(healthz) < ANSWER_WITHIN, healthz
    assert max(helps) < ANSWER_WITHIN, helps
    # They were really held open: the server answered others beside them, it did not drop them.
    assert still_open == IDLE + TRICKLING
