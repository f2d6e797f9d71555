"""Real processes for the HTTP benchmarks: the emulator, `twoway run` replicas, and signed Slack traffic.

The emulator runs without a request URL: it plays Slack's Web API and mints what real traffic needs
(messages people wrote, response URLs of slash commands), while the benchmark itself sends the signed
requests, so that it times exactly each request's round trip to the app.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier

from twoway.demo import free_port

TEAM = "T0TWOWAY1"
CHANNEL = "C0SOCIAL01"
PEOPLE = ("U0ADA00001", "U0GRACE001", "U0LINUS001")
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
STATUS_BASE = 1_800_000_000_000_000_000


def post_url(i: int) -> str:
    return f"https://x.com/twoway/status/{STATUS_BASE + i}"


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def spawn(args: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Process:
    """``python -m <args>`` with its output in ``log``; from ``cwd``, its modules come first."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    return Process(popen, log)


def wait_up(url: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.log.name} exited: {process.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


def control(base: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """A call to the emulator's control API; GET without ``payload``."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@dataclass
class Slack:
    """The emulator as a process, and the environment a `twoway run` against it needs."""

    url: str
    process: Process
    workdir: Path
    # The workspace and channel people act in (`at` gives a view of another).
    team: str = TEAM
    channel: str = CHANNEL

    def at(self, team: str, channel: str) -> Slack:
        """The same emulator, with people acting in ``channel`` of ``team``."""
        return dataclasses.replace(self, team=team, channel=channel)

    def app_env(self, port: int, database_url: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.url + "/api/",
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "SLACK_APP_TOKEN": "",
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            # The watcher beside each replica reads Bluesky and Mastodon from the emulator, not the networks.
            "TWOWAY_BLUESKY_API_URL": self.url + "/bluesky",
            "TWOWAY_MASTODON_API_URL": self.url + "/mastodon",
            **extra,
        }

    def message_events(self, count: int, *, first: int = 0) -> list[dict[str, Any]]:
        """``count`` messages, each sharing a post link, written in the emulator: Slack's event envelopes."""
        ids = []
        for i in range(first, first + count):
            said = control(
                self.url,
                "/_emulator/message",
                {
                    "team": self.team,
                    "channel": self.channel,
                    "user": PEOPLE[i % 3],
                    "text": f"out now <{post_url(i)}>",
                },
            )
            ids.append(said["event_id"])
        return self.envelopes(ids)

    def say(self, said: str, user: str, thread_ts: str | None = None) -> dict[str, Any]:
        """A message someone writes in the channel (in a thread with ``thread_ts``): its ts and event_id."""
        message = {"team": self.team, "channel": self.channel, "user": user, "text": said}
        return control(
            self.url, "/_emulator/message", message | ({"thread_ts": thread_ts} if thread_ts else {})
        )

    def react(self, ts: str, user: str, reaction: str) -> dict[str, Any]:
        """Someone's reaction to the message at ``ts``: its event_id."""
        reacted = {"team": self.team, "channel": self.channel, "ts": ts, "user": user, "reaction": reaction}
        return control(self.url, "/_emulator/reaction", reacted)

    def envelopes(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The event envelopes Slack would send for ``event_ids``, in that order."""
        listed = control(self.url, f"/_emulator/events?team={self.team}")
        stored = {e["event_id"]: e["payload"] for e in listed}
        return [stored[event_id] for event_id in event_ids]

    def response_urls(self, count: int) -> list[tuple[str, str]]:
        """``count`` (response_url, trigger_id) pairs, as slash commands come with."""
        minted = []
        for _ in range(count):
            answer = control(
                self.url,
                "/_emulator/command",
                {
                    "team": self.team,
                    "channel": self.channel,
                    "user": PEOPLE[0],
                    "command": "/twoway",
                    "text": "help",
                    "wait": 0,
                    "linger": 0,
                },
            )
            minted.append((answer["response_url"], answer["trigger_id"]))
        return minted


@contextmanager
def emulator(workdir: Path, *options: str) -> Iterator[Slack]:
    """The emulator as a process of its own; ``options`` are more of `twoway emulator`'s options."""
    port = free_port()
    process = spawn(
        ["twoway.cli", "emulator", "--port", str(port), "--signing-secret", SIGNING_SECRET, *options],
        {**os.environ},
        workdir / "emulator.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url + "/_emulator/health", process)
        yield Slack(url, process, workdir)
    finally:
        process.stop()


@dataclass(frozen=True)
class Replica:
    """One `twoway run` process the benchmark started, and its events URL."""

    url: str
    process: Process


@contextmanager
def replicas(
    slack: Slack, database_url: str, count: int, name: str = "twoway", source: Path | None = None
) -> Iterator[list[str]]:
    """``count`` `twoway run` processes on one database; yields each one's events URL.

    With ``source``, a checkout of another revision of twoway runs instead of this one.
    """
    with replica_processes(slack, database_url, count, name, source) as running:
        yield [replica.url for replica in running]


@contextmanager
def replica_processes(
    slack: Slack,
    database_url: str,
    count: int,
    name: str = "twoway",
    source: Path | None = None,
    env: Callable[[int], Mapping[str, str]] | None = None,
) -> Iterator[list[Replica]]:
    """As ``replicas``, with each one's process, for benchmarks that read it from /proc; ``env`` gives
    more of a replica's environment from the port it listens on."""
    ports = [free_port() for _ in range(count)]
    extra = {"PYTHONPATH": str(source)} if source is not None else {}
    processes = [
        spawn(
            ["twoway.cli", "run", "--host", "127.0.0.1"],
            slack.app_env(port, database_url, **extra, **(env(port) if env else {})),
            slack.workdir / f"{name}-{i}.log",
            cwd=source,
        )
        for i, port in enumerate(ports)
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_up(f"http://127.0.0.1:{port}/healthz", process)
        yield [
            Replica(f"http://127.0.0.1:{port}/slack/events", process)
            for port, process in zip(ports, processes, strict=True)
        ]
    finally:
        for process in processes:
            process.stop()


def command_body(
    text: str,
    response_url: str,
    trigger_id: str,
    user: str = PEOPLE[0],
    *,
    team: str = TEAM,
    channel: str = CHANNEL,
) -> tuple[bytes, str]:
    """A slash command as Slack posts it: form-encoded."""
    form = {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "twoway-demo",
        "channel_id": channel,
        "channel_name": "social",
        "user_id": user,
        "user_name": "ada",
        "command": "/twoway",
        "text": text,
        "api_app_id": "A0TWOWAY1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"


def event_body(envelope: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(envelope).encode(), "application/json"


@dataclass
class Signer:
    """Signs each request as Slack does, when it is sent (slack_sdk's own scheme)."""

    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SIGNING_SECRET))

    def headers(self, body: bytes, content_type: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=timestamp, body=body.decode())
        assert signature is not None, "slack_sdk signs any body with a secret"
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }


@dataclass
class Sent:
    """One request's round trip."""

    seconds: float
    status: int
    target: str
    content_type: str
    # Its place in the requests sent.
    index: int = -1
    # Why it got no answer (status 0): the exception's name.
    error: str = ""


def fire(
    requests: Sequence[tuple[str, bytes, str]],
    *,
    concurrency: int,
    rate: float | None = None,
    signer: Signer | None = None,
) -> list[Sent]:
    """Send ``(url, body, content_type)`` requests, ``concurrency`` at a time on kept-alive connections.

    Without ``rate``, each connection sends its next request as soon as the last is answered: the
    apps run flat out. With ``rate``, request i leaves at i/rate seconds (or as soon as a connection
    is free, if all are busy then), as Slack sends events when people act rather than when the app
    is ready. Each request is signed just before it is sent and timed from its first byte out to its
    answer's last byte in.
    """
    signer = signer or Signer()
    results: list[Sent] = []
    lock = threading.Lock()
    queue = iter(enumerate(requests))
    start = threading.Barrier(concurrency)
    began_at = 0.0

    def worker() -> None:
        nonlocal began_at
        connections: dict[str, http.client.HTTPConnection] = {}
        if start.wait() == 0:
            began_at = time.perf_counter()
        start.wait()
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                break
            index, (url, body, content_type) = item
            if rate is not None:
                delay = began_at + index / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            parsed = urllib.parse.urlsplit(url)
            connection = connections.get(parsed.netloc)
            if connection is None:
                connection = http.client.HTTPConnection(parsed.netloc, timeout=30)
                connections[parsed.netloc] = connection
            headers = signer.headers(body, content_type)
            began = time.perf_counter()
            try:
                connection.request("POST", parsed.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as failure:
                connection.close()
                connections.pop(parsed.netloc, None)
                status, error = 0, type(failure).__name__
            else:
                error = ""
            took = time.perf_counter() - began
            with lock:
                results.append(Sent(took, status, url, content_type, index, error))
        for connection in connections.values():
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
