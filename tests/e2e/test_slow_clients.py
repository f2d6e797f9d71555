"""`twoway run` keeps answering while 1,200 idle and slow (trickling) connections are open.

A slowloris client opens a connection, sends part of a request and waits, or sends it a byte at a
time; none of it needs a signature. Slack and the load balancer's health check must still be answered
within a second. 1,200 rather than 1,000: past 1,024 open files, a server that
waits on its sockets with select() fails where poll() does not.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.support.processes import http
from tests.support.slowloris import slow_clients
from tests.support.stack import CHANNEL, TEAM, USER, Stack

pytestmark = pytest.mark.e2e

IDLE = 700
TRICKLING = 500
ANSWER_WITHIN = 1.0


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


def test_healthz_and_a_signed_help_answer_within_1s_beside_1200_idle_and_trickling_connections(
    http_stack: Stack,
) -> None:
    assert http_stack.app_url
    url = http_stack.app_url
    with slow_clients(url, idle=IDLE, trickling=TRICKLING) as slow:
        # The first right away: the server is still accepting the slow connections then.
        healthz = [_healthz_seconds(url) for _ in range(5)]
        helps = [_help_seconds(http_stack) for _ in range(3)]
        still_open = slow.still_open()
    print(json.dumps({"healthz_s": healthz, "help_s": helps, "slow_still_open": still_open}))
    assert max(healthz) < ANSWER_WITHIN, healthz
    assert max(helps) < ANSWER_WITHIN, helps
    # They were really held open: the server answered others beside them, it did not drop them.
    assert still_open == IDLE + TRICKLING
