"""What each part of the ack path costs: CPU and time per request, in process, beside bare Bolt's.

    python -m bench.ack_parts [--quick] [--postgres URL] [--requests N] [--concurrency 50]

`bench.ack_latency` times whole requests through the server, where twoway's handling after the ack
shares the cores and the interpreter with its acks. This one takes both away: the real Bolt app
(`twoway.bolt_app.build_app`) and the bare one (`bench.bare_app`) dispatch signed requests in this
process, and twoway's inbox keeps the claims it is given without handling them. What remains is the
ack path alone, one kind of request at a time, so that each part shows as a difference:

- chatter (a message with no link): Bolt's verification and routing, and the relevance decision with
  no read;
- a reply under an untracked message an hour old: the same, and one read of the ledger;
- a reaction with an emoji no channel uses: one read too;
- a message sharing a post link: relevant, so its signature and claim are committed before the 200.

Each kind is sent one request at a time (CPU of this process per request, from `time.process_time`,
and wall time p50/p99), then the relevant kind again from ``--concurrency`` threads at once, to show how
many requests each grouped commit serves (`twoway.group_commit`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, event

from bench import bare_app
from bench.common import arguments, record, say, summary_ms, table
from bench.pg import fresh_database
from bot.clock import utc_now
from bot.config import Config, Secret
from bot.deps import Deps, make_web_client
from bot.inbox import Claim, Inbox
from emulator import Emulator, EmulatorSettings
from storage.db import make_engine, make_read_engine, make_session_factory
from storage.migrate import upgrade
from twoway.bolt_app import build_app

SECRET = "ack-parts-signing-secret"
TEAM, CHANNEL, USER = "T0TWOWAY1", "C0SOCIAL01", "U0ADA00001"
HOUR_AGO = f"{time.time() - 3600:.6f}"


class KeptInbox(Inbox):
    """An inbox that keeps what it is given: the claims are committed, their handling never starts."""

    def submit(self, claim: Claim) -> None:
        return None


def _message(i: int) -> dict[str, Any]:
    return {"type": "message", "user": USER, "text": f"lunch at one? {i}", "channel": CHANNEL, "ts": _ts(i)}


def _reply(i: int) -> dict[str, Any]:
    return {**_message(i), "text": f"same {i}", "thread_ts": HOUR_AGO}


def _reaction(i: int) -> dict[str, Any]:
    item = {"type": "message", "channel": CHANNEL, "ts": _ts(i)}
    return {"type": "reaction_added", "user": USER, "reaction": "tada", "item": item, "event_ts": _ts(i)}


def _link(i: int) -> dict[str, Any]:
    return {**_message(i), "text": f"new post https://x.com/acme/status/{1_800_000_000 + i}"}


def _ts(i: int) -> str:
    return f"{time.time():.0f}.{i:06d}"


KINDS: dict[str, Callable[[int], dict[str, Any]]] = {
    "chatter": _message,
    "reply, untracked": _reply,
    "reaction, unused emoji": _reaction,
    "post link (relevant)": _link,
}


class Requests:
    """Signed Events API requests, numbered so that no two share an event id or a signature."""

    def __init__(self) -> None:
        self._verifier = SignatureVerifier(SECRET)
        self._lock = threading.Lock()
        self._next = 0

    def make(self, kind: str) -> BoltRequest:
        with self._lock:
            self._next += 1
            i = self._next
        envelope = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0TWOWAY1",
            "event": KINDS[kind](i),
            "type": "event_callback",
            "event_id": f"Ev{i:010d}",
            "event_time": int(time.time()),
        }
        body = json.dumps(envelope)
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        headers: dict[str, str | Sequence[str]] = {
            "content-type": ["application/json"],
            "x-slack-request-timestamp": [timestamp],
            "x-slack-signature": [signature or ""],
        }
        return BoltRequest(body=body, headers=headers)


def one_at_a_time(app: App, requests: Requests, kind: str, count: int) -> dict[str, Any]:
    """``count`` requests of ``kind``, each dispatched alone; CPU and wall time per request."""
    for _ in range(min(50, count)):
        app.dispatch(requests.make(kind))
    made = [requests.make(kind) for _ in range(count)]
    seconds: list[float] = []
    cpu = time.process_time()
    for request in made:
        began = time.perf_counter()
        response = app.dispatch(request)
        seconds.append(time.perf_counter() - began)
        if response.status != 200:
            raise RuntimeError(f"{kind}: answered {response.status}")
    return {"cpu_ms": round((time.process_time() - cpu) * 1000 / count, 3), **summary_ms(seconds)}


def all_at_once(app: App, engine: Engine, requests: Requests, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` relevant requests from ``concurrency`` threads; commits and CPU per request."""
    made = [requests.make("post link (relevant)") for _ in range(count)]
    commits = [0]

    def counted(_conn: Any) -> None:
        commits[0] += 1

    statuses: list[int] = []
    lock = threading.Lock()

    def send(part: list[BoltRequest]) -> None:
        for request in part:
            status = app.dispatch(request).status
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=send, args=(made[n::concurrency],)) for n in range(concurrency)]
    event.listen(engine, "commit", counted)
    cpu, began = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, took = time.process_time() - cpu, time.perf_counter() - began
    event.remove(engine, "commit", counted)
    if set(statuses) != {200}:
        raise RuntimeError(f"answers: {sorted(set(statuses))}")
    return {
        "requests": count,
        "commits": commits[0],
        "requests_per_commit": round(count / max(commits[0], 1), 1),
        "cpu_ms": round(cpu * 1000 / count, 3),
        "requests_per_s": round(count / took, 1),
    }


@contextmanager
def twoway_app(database_url: str, emulator: Emulator) -> Iterator[tuple[App, Engine]]:
    """twoway's front app on a migrated ledger, with an inbox that keeps its claims."""
    engine = make_engine(database_url)
    upgrade(engine)
    reads = make_read_engine(engine)
    sessions = make_session_factory(engine)
    config = Config(
        bot_token=Secret("xoxb-ack-parts"),
        signing_secret=Secret(SECRET),
        app_token=None,
        database_url=database_url,
        slack_api_url=emulator.api_url,
        timezone="UTC",
        port=3000,
    )
    inbox = KeptInbox(sessions, utc_now, "ack-parts")
    deps = Deps(
        config=config,
        sessions=sessions,
        client=make_web_client(config),
        inbox=inbox,
        reads=make_session_factory(reads),
    )
    try:
        yield build_app(deps), engine
    finally:
        inbox.shutdown(wait=True)
        if reads is not engine:
            reads.dispose()
        engine.dispose()


def bare(emulator: Emulator) -> App:
    os.environ.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-ack-parts",
            "SLACK_API_URL": emulator.api_url,
            "SLACK_SIGNING_SECRET": SECRET,
        }
    )
    return bare_app.build()


def measure(database_url: str, emulator: Emulator, count: int, concurrency: int) -> dict[str, Any]:
    requests = Requests()
    figures: dict[str, Any] = {}
    yardstick = bare(emulator)
    with twoway_app(database_url, emulator) as (app, engine):
        # Taking turns, twice, so that the machine's noise falls on both apps alike.
        for turn in range(2):
            for kind in KINDS:
                for name, target in (("twoway", app), ("bare Bolt", yardstick)):
                    say(f"  {kind}, {name}, turn {turn + 1}/2")
                    figures.setdefault(kind, {}).setdefault(name, []).append(
                        one_at_a_time(target, requests, kind, count)
                    )
        say(f"  post links, {concurrency} at once")
        figures["grouped"] = all_at_once(app, engine, requests, count, concurrency)
    for kind in KINDS:
        for name in ("twoway", "bare Bolt"):
            runs = figures[kind][name]
            figures[kind][name] = min(runs, key=lambda r: r["cpu_ms"])
    return figures


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "ack parts",
        extra=[
            ("--requests", {"type": int, "default": None, "help": "requests of each kind (default 1000)"}),
            ("--concurrency", {"type": int, "default": 50}),
        ],
    )
    count = args.requests or (100 if args.quick else 1000)
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-ack-parts-"))
    runs: dict[str, dict[str, Any]] = {}
    try:
        settings = EmulatorSettings(host="127.0.0.1", port=0, app_url=None, signing_secret=SECRET)
        with Emulator(settings) as emulator:
            say("sqlite")
            runs["sqlite"] = measure(f"sqlite:///{workdir / 'parts.db'}", emulator, count, args.concurrency)
            if args.postgres:
                say("postgresql")
                with fresh_database(args.postgres, "twoway_ack_parts") as url:
                    runs["postgresql"] = measure(url, emulator, count, args.concurrency)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    for backend, figures in runs.items():
        for kind in KINDS:
            ours, theirs = figures[kind]["twoway"], figures[kind]["bare Bolt"]
            rows.append(
                [
                    backend,
                    kind,
                    ours["cpu_ms"],
                    theirs["cpu_ms"],
                    round(ours["cpu_ms"] - theirs["cpu_ms"], 3),
                    f"{ours['p50_ms']} / {ours['p99_ms']}",
                    f"{theirs['p50_ms']} / {theirs['p99_ms']}",
                ]
            )
    print(
        table(
            f"The ack path alone, in process, {count} requests of each kind one at a time (ms per request)",
            [
                "ledger",
                "request",
                "twoway CPU",
                "bare CPU",
                "twoway adds",
                "twoway p50 / p99",
                "bare p50 / p99",
            ],
            rows,
        )
    )
    print(
        table(
            f"Post links from {args.concurrency} threads at once",
            ["ledger", "requests", "commits", "requests/commit", "CPU ms/request", "requests/s"],
            [
                [
                    backend,
                    f["grouped"]["requests"],
                    f["grouped"]["commits"],
                    f["grouped"]["requests_per_commit"],
                    f["grouped"]["cpu_ms"],
                    f["grouped"]["requests_per_s"],
                ]
                for backend, f in runs.items()
            ],
        )
    )
    record("ack_parts", args.quick, {"requests": count, "concurrency": args.concurrency, "runs": runs})


if __name__ == "__main__":
    main()
