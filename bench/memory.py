"""Memory: the resident size of `twoway run` serving the 1M-post ledger.

    python -m bench.memory [--quick] [--cache-dir DIR]

`twoway run` starts on a copy of the digest benchmark's SQLite ledger (1,000,000 posts over 500
channels and two years; `--quick`: 50,000) against the emulator. It then serves what a busy Monday
brings: message events sharing posts, `/twoway log`, `report month`, `unanswered` and `digest
preview` in the measured channel, and the channel's digest posted for real, chart and all. Its
VmRSS is read from /proc after start, after the traffic and after the digest, and its peak (VmHWM)
at the end; so are its two children's, shown apart: the watcher of Bluesky and Mastodon posts, and the
worker that draws charts once a digest has one. Goal: at most 120 MB for the process that serves Slack.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import arguments, record, say, table
from bench.digest_build import FULL, QUICK, SUBJECT, TEAM, sqlite_ledger
from bench.harness import (
    PEOPLE,
    Slack,
    command_body,
    control,
    emulator,
    event_body,
    fire,
    post_url,
    replicas,
)

GOAL_MB = 120
# `twoway run` reads Bluesky and Mastodon in a child process of its own, whose clients (the atproto SDK
# alone adds about 55 MB) never load into the server: its memory is shown apart, outside the goal.
WATCHER = "the watcher (its own process, not in the goal)"
# Charts are drawn in a worker process too (`bot/digest/chart_worker.py`): matplotlib is 45 MB.
CHARTS = "the chart worker (its own process, not in the goal)"


def memory_of(pid: int) -> dict[str, float]:
    """The process's resident set now and at its peak, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def child_pid(server: int, marker: str) -> int | None:
    """The child of the server whose command line holds ``marker``, if it runs."""
    for task in Path(f"/proc/{server}/task").iterdir():
        for child in (task / "children").read_text().split():
            if marker.encode() in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    return None


def replica_pid(workdir: Path) -> int:
    """The pid of the one `twoway run` this benchmark started (its log is in ``workdir``)."""
    found = subprocess.run(
        ["pgrep", "-f", "twoway.cli run --host 127.0.0.1"], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in found:
        environ = Path(f"/proc/{pid}/environ")
        if environ.exists() and str(workdir).encode() in environ.read_bytes():
            return int(pid)
    raise RuntimeError("the twoway process is not running")


def commands(slack: Slack, texts: list[str]) -> list[tuple[bytes, str]]:
    bodies = []
    for text, (response_url, trigger_id) in zip(texts, slack.response_urls(len(texts)), strict=True):
        body, kind = command_body(text, response_url, trigger_id)
        # The measured channel of the benchmark's workspace, not the emulator's default one.
        bodies.append(
            (body.replace(b"T0TWOWAY1", TEAM.encode()).replace(b"C0SOCIAL01", SUBJECT.encode()), kind)
        )
    return bodies


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "memory",
        extra=[("--cache-dir", {"default": None, "help": "where the seeded SQLite ledgers are kept"})],
    )
    shape = (QUICK if args.quick else FULL)[-1]
    cache_dir = Path(args.cache_dir or Path(tempfile.gettempdir()) / "twoway-bench-digest")
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-memory-"))
    readings: dict[str, dict[str, float]] = {}
    try:
        with ExitStack() as stack:
            say(f"the ledger of {shape.posts:,} posts")
            prepared = sqlite_ledger(stack, shape, cache_dir)
            prepared.engine.dispose()
            ledger = workdir / "ledger.sqlite"
            shutil.copyfile(Path(str(prepared.engine.url.database)), ledger)
        with emulator(workdir) as slack:
            # The measured channel exists in the emulator, so that its digest can be posted there.
            control(slack.url, "/_emulator/channel", {"team": "T0TWOWAY1", "id": SUBJECT, "name": "bench"})
            with replicas(slack, f"sqlite:///{ledger}", 1, name="memory") as [url]:
                pid = replica_pid(workdir)
                time.sleep(1)
                readings["started"] = memory_of(pid)
                events = [event_body(e) for e in slack.message_events(300)]
                texts = [f"log {post_url(i)} comments={i % 40} replies={i % 9}" for i in range(100)] + [
                    "report month",
                    "unanswered",
                    "digest preview",
                    f"report month <@{PEOPLE[0]}>",
                ] * 10
                traffic = events + commands(slack, texts)
                fire([(url, body, kind) for body, kind in traffic], concurrency=20)
                time.sleep(2)
                readings["after traffic"] = memory_of(pid)
                fire([(url, body, kind) for body, kind in commands(slack, ["digest now"])], concurrency=1)
                deadline = time.monotonic() + 60
                while not [
                    c for c in control(slack.url, "/_emulator/calls?method=chat.postMessage") if c["ok"]
                ]:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the digest was not posted")
                    time.sleep(0.2)
                time.sleep(3)  # its chart follows it into the thread
                readings["after the digest"] = memory_of(pid)
                for moment, marker in ((WATCHER, "--role\0watch"), (CHARTS, "multiprocessing.spawn")):
                    child = child_pid(pid, marker)
                    if child is not None:
                        readings[moment] = memory_of(child)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    peak = max(r["VmHWM"] for moment, r in readings.items() if moment not in (WATCHER, CHARTS))
    print(
        table(
            f"Resident memory of twoway run on a ledger of {shape.posts:,} posts (MB)",
            ["moment", "VmRSS", "peak so far (VmHWM)"],
            [[moment, r["VmRSS"], r["VmHWM"]] for moment, r in readings.items()],
        )
    )
    verdict = "meets" if peak <= GOAL_MB else "misses"
    print(f"peak {peak} MB: {verdict} the {GOAL_MB} MB goal")
    figures: dict[str, Any] = {
        "posts": shape.posts,
        "readings": readings,
        "peak_mb": peak,
        "watcher_mb": readings.get(WATCHER, {}).get("VmHWM"),
        "chart_worker_mb": readings.get(CHARTS, {}).get("VmHWM"),
        "goal_mb": GOAL_MB,
    }
    record("memory", args.quick, figures)


if __name__ == "__main__":
    main()
