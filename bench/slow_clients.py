"""Slow clients: how fast `twoway run` answers /healthz and a signed `/twoway help` beside 0, 100 and
1,000 idle and trickling connections.

    python -m bench.slow_clients [--quick] [--levels 0,100,1000] [--requests 50] [--baseline DIR]

`twoway run` (HTTP, waitress, SQLite, against the emulator) gets, at each level, that many slow
connections: half send `POST /slack/events HTTP/1.1` and a Host header and wait, half then trickle a
header a byte every 0.25 s (tests/support/slowloris.py). Right after they are opened, one /healthz is
timed ("first": the server is still accepting them); then ``--requests`` /healthz and as many signed
`/twoway help`, one after another, each on a new connection, as a load balancer and Slack send them.
A request gets 3 s; after 3 that time out at one level the rest of that kind are not sent. The slow
connections still open at the end are counted: the server must answer beside them, not drop them.
Goal: every answer within 1 s at 1,000. The ledger is SQLite only: nothing here reaches the database
but the ack's one commit. ``--baseline DIR`` measures a checkout of another revision the same way.
"""

from __future__ import annotations

import http.client
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import arguments, record, say, summary_ms, table
from bench.harness import Signer, Slack, command_body, emulator, replicas
from tests.support.slowloris import slow_clients

GOAL_S = 1.0
TIMEOUT_S = 3.0
GIVE_UP_AFTER = 3


def _timed(send: Callable[[http.client.HTTPConnection], int], netloc: str) -> float | None:
    """Seconds to an answer of 200 on a new connection, or None if none came within TIMEOUT_S."""
    connection = http.client.HTTPConnection(netloc, timeout=TIMEOUT_S)
    began = time.perf_counter()
    try:
        status = send(connection)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    took = time.perf_counter() - began
    assert status == 200, f"answered {status}"
    return took


def _healthz(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status


def _help(slack: Slack, signer: Signer) -> Callable[[http.client.HTTPConnection], int]:
    [(response_url, trigger_id)] = slack.response_urls(1)
    body, kind = command_body("help", response_url, trigger_id)

    def send(connection: http.client.HTTPConnection) -> int:
        connection.request("POST", "/slack/events", body=body, headers=signer.headers(body, kind))
        response = connection.getresponse()
        answer = response.read()
        assert b"twoway commands: help" in answer, answer[:200]
        return response.status

    return send


def _series(
    send: Callable[[], Callable[[http.client.HTTPConnection], int]], netloc: str, count: int
) -> dict[str, Any]:
    seconds: list[float] = []
    timed_out = 0
    for _ in range(count):
        took = _timed(send(), netloc)
        if took is None:
            timed_out += 1
            if timed_out >= GIVE_UP_AFTER:
                break
        else:
            seconds.append(took)
    figures: dict[str, Any] = {"answered": len(seconds), "timed_out": timed_out}
    if seconds:
        figures |= summary_ms(seconds)
    return figures


def measure(
    slack: Slack, database_url: str, levels: list[int], requests: int, source: Path | None, name: str
) -> dict[str, Any]:
    signer = Signer()
    runs: dict[str, Any] = {}
    with replicas(slack, database_url, 1, name=name, source=source) as [events_url]:
        netloc = urllib.parse.urlsplit(events_url).netloc
        # Imports, the database pool and Bolt's first dispatch, before anything is timed.
        for _ in range(5):
            _timed(_help(slack, signer), netloc)
        for level in levels:
            say(f"{name}: {level} slow connections")
            with slow_clients(f"http://{netloc}", idle=level - level // 2, trickling=level // 2) as slow:
                first = _timed(_healthz, netloc)
                healthz = _series(lambda: _healthz, netloc, requests)
                helps = _series(lambda: _help(slack, signer), netloc, requests)
                still_open = slow.still_open()
            runs[str(level)] = {
                "first_healthz_ms": None if first is None else round(first * 1000, 2),
                "healthz": healthz,
                "help": helps,
                "slow_still_open": still_open,
                "slow_unopened": slow.unopened,
            }
    return runs


def _cell(figures: dict[str, Any], key: str) -> str:
    if figures["timed_out"]:
        return f"{figures['timed_out']} timed out" + (f", {figures[key]}" if key in figures else "")
    return str(figures[key])


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "slow clients",
        extra=[
            ("--levels", {"default": None, "help": "slow connections at each level (default 0,100,1000)"}),
            ("--requests", {"type": int, "default": None, "help": "of each kind at each level (default 50)"}),
            ("--baseline", {"default": None, "help": "a checkout of another twoway revision, measured too"}),
        ],
    )
    levels = [int(n) for n in (args.levels or ("0,100" if args.quick else "0,100,1000")).split(",")]
    requests = args.requests or (10 if args.quick else 50)
    apps: dict[str, Path | None] = {"twoway": None}
    if args.baseline:
        apps["twoway before"] = Path(args.baseline).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-slow-"))
    results: dict[str, Any] = {}
    try:
        with emulator(workdir) as slack:
            for number, (name, source) in enumerate(apps.items()):
                url = f"sqlite:///{workdir / f'slow-{number}.db'}"
                results[name] = measure(slack, url, levels, requests, source, name.replace(" ", "-"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [
        [
            name,
            level,
            r["first_healthz_ms"] if r["first_healthz_ms"] is not None else "timed out",
            _cell(r["healthz"], "p50_ms"),
            _cell(r["healthz"], "max_ms"),
            _cell(r["help"], "p50_ms"),
            _cell(r["help"], "max_ms"),
            r["slow_still_open"],
            r["slow_unopened"],
        ]
        for name, runs in results.items()
        for level, r in runs.items()
    ]
    print(
        table(
            f"Beside slow connections, {requests} of each request (ms; {TIMEOUT_S:g} s timeout)",
            [
                "app",
                "slow",
                "first healthz",
                "healthz p50",
                "healthz max",
                "help p50",
                "help max",
                "still open",
                "unopened",
            ],
            rows,
        )
    )
    worst = max(
        [
            r[kind]["max_ms"]
            for r in results["twoway"].values()
            for kind in ("healthz", "help")
            if "max_ms" in r[kind]
        ]
        + [r["first_healthz_ms"] or TIMEOUT_S * 1000 for r in results["twoway"].values()]
    )
    timed_out = sum(r[k]["timed_out"] for r in results["twoway"].values() for k in ("healthz", "help"))
    met = worst < GOAL_S * 1000 and not timed_out
    verdict = "met" if met else "missed"
    print(f"twoway: slowest answer {worst} ms, {timed_out} timed out: the {GOAL_S:g} s goal is {verdict}")
    record("slow_clients", args.quick, {"levels": levels, "requests": requests, "results": results})


if __name__ == "__main__":
    main()
