"""The fleet: many workspaces installed through OAuth on two replicas, a busy hour, and one shared slot.

Run: ``.venv/bin/python -m bench.fleet [--quick] [--postgres URL|embedded] [--workspaces N]
[--rate R] [--timeout S]``

The emulator runs as a process of its own with Slack's rate limits on, each workspace with its own
buckets. It holds ``--workspaces`` workspaces (200; 20 with ``--quick``) of 20 channels each, plus
``--calibration`` calibration workspaces like them (10; 5 with ``--quick``) and a small warm-up
workspace. Two `twoway run` replicas serve them on one PostgreSQL database in
distribution mode: every workspace installs twoway through Slack's OAuth flow (its own authorize
page, its own code, its own bot token, stored encrypted), each from an address of its own, as
people install from their own machines.

Then, in three acts, each on freshly started replicas (a deploy between them), so that no
five-minute sweep falls inside a measured window:

1. **The busy hour, in fast time.** The replicas idle for a while (what an installed fleet costs
   with nothing happening: the refresher's, the inbox's and the watchers' ticks); then the calibration
   workspaces send their hour, then the fleet's workspaces theirs. A workspace's hour is 20 channels x
   5 requests: 100 requests of the workspace mix (`bench.workspace_mix`), after the 5 posts its
   replies, summaries and flags are about. The workspaces' requests are interleaved and sent at
   ``--rate`` requests a second to either replica, as Slack spreads deliveries over an app's replicas;
   the calibration's at the same rate, since a request's cost depends on how many come at once (they
   share commits). Each part ends when the ledger holds what its mix implies.
2. **The shared slot.** Every channel's digest is due at one minute: the warm-up workspace's at the
   first minute boundary at least ``LEAD`` away (each replica starts its chart worker then), the
   calibration workspaces' a minute later, the fleet's a minute after that. Each channel has a
   post in the digest's week and one the week before, so every digest has a chart to upload. The
   replicas' own schedulers fire the jobs, at the minute, as on a Monday at 09:00.
3. **The check.** Lost: channels with no digest message in Slack; doubled: channels with more than
   one (by the messages' metadata, as Slack keeps them); charts: uploads Slack completed.

Every part is measured over its window: CPU seconds from /proc of the replicas' server processes,
their watchers and chart workers, the database's backends (every server process with
``--postgres embedded``), and the emulator; statements from pg_stat_statements where the server
preloads it (the embedded one does).

The calibration's costs are the model's unit costs (`bench.capacity`): per request and per digest,
each less what the idle replicas spend over as many seconds; a sweep's cost is `bench.unit_costs`'.
From them the model predicts the fleet's hour and its shared slot (CPU, statements, the fan-out's wall
on this machine's two cores), and the benchmark prints the prediction beside the measurement. Goal:
within 25%. The emulator's CPU is shown, not judged: it is Slack's, and the benchmark's polls add to it.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import cycle, zip_longest
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urljoin, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bench import capacity, workspace_mix
from bench.common import arguments, record, say, table
from bench.cpu import CpuMeter, descendants
from bench.fanout import POSTS, digest_posts, seed_channel
from bench.harness import PEOPLE, Replica, Slack, control, emulator, fire, replica_processes
from bench.pg import (
    PostgresCosts,
    Server,
    analyze,
    fresh_database,
    server,
    statement_stats,
    watcher_url,
)
from emulator.oauth import CLIENT_ID, CLIENT_SECRET
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Channel, DigestRun

CHANNELS = 20
REQUESTS_PER_CHANNEL_HOUR = 5
# Posts each workspace shares before its hour: the threads its replies, summaries and flags are in.
TRACKED = 5
REPLICAS = 2
# The slot is at least this far after the replicas start: time for them to derive every job.
LEAD = timedelta(seconds=25)
# Seconds after the replicas' start before the idle fleet is measured.
SETTLE_SECONDS = 5
# A few channels whose digests go first, at the slot's first minute: each replica starts its chart
# worker on its first chart, and that start is no digest's cost.
WARM_UP = "T0FLEETWRM"
WARM_UP_CHANNELS = 16
CHARTS_METHOD = "files.completeUploadExternal"
# Slack delivers an event, or a command, again when the app did not answer 200: three tries in all.
DELIVERY_ATTEMPTS = 3
POLL_SECONDS = 0.5
CALIBRATION = "T0FLEETCAL"


def calibration_ids(count: int) -> list[str]:
    """The calibration workspaces: ``CALIBRATION``, whose digests are the model's, and more like it."""
    return [CALIBRATION, *(f"T0FLEETC{i:03d}" for i in range(1, count))]


Sessions = sessionmaker[Session]


def team_ids(count: int) -> list[str]:
    return [f"T0FLEET{i:04d}" for i in range(count)]


def channel_ids(team_id: str) -> list[str]:
    """The workspace's channels: ``CHANNELS``, but the warm-up workspace's few."""
    count = WARM_UP_CHANNELS if team_id == WARM_UP else CHANNELS
    return [f"C{team_id[1:]}X{c:02d}" for c in range(count)]


def build_world(slack: Slack, teams: Sequence[str]) -> None:
    """Each workspace in Slack: its people, and its channels with them and the bot as members."""
    for team_id in teams:
        control(slack.url, "/_emulator/team", {"id": team_id, "domain": team_id.lower()})
        for channel_id in channel_ids(team_id):
            control(
                slack.url,
                "/_emulator/channel",
                {"team": team_id, "id": channel_id, "name": channel_id.lower(), "members": list(PEOPLE)},
            )


# The installs -----------------------------------------------------------------------------------


def install(app_url: str, team_id: str, address: str) -> int:
    """A person installs twoway in ``team_id`` from the app's /slack/install, from ``address``, as a
    browser would: following redirects through Slack's authorize page, keeping the app's cookies.
    Returns the last page's status."""
    cookies: dict[str, str] = {}
    url = f"{app_url}/slack/install?team={team_id}"
    for _ in range(5):
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=30, source_address=(address, 0)
        )
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
            connection.request(
                "GET", f"{parts.path}?{parts.query}" if parts.query else parts.path, headers=headers
            )
            response = connection.getresponse()
            response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                cookies[name.strip()] = value
            location = response.getheader("Location")
        finally:
            connection.close()
        if location is None:
            return response.status
        url = urljoin(url, location)
    raise RuntimeError(f"installing {team_id} went round in redirects")


def address(i: int) -> str:
    """A loopback address of its own for the ``i``-th installer (127.0.0.0/8 is all loopback)."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


# The ledger, read by the benchmark --------------------------------------------------------------


def wait_ledger(
    database_url: str, teams: Sequence[str], expected: workspace_mix.Ledger
) -> workspace_mix.Ledger:
    """What the ledger holds for ``teams`` once it holds ``expected`` and nothing is being handled."""
    return workspace_mix.wait_ledger(database_url, teams, expected)[0]


def shortfalls(database_url: str, workspaces: Sequence[Workspace]) -> dict[str, dict[str, int]]:
    """Each workspace whose ledger holds less than its mix implies: what it lacks, by kind."""
    short: dict[str, dict[str, int]] = {}
    for w in workspaces:
        if w.mix is None:
            continue
        got = workspace_mix.ledger_of(database_url, [w.team_id])
        lacking = {
            kind: wanted - getattr(got, kind)
            for kind, wanted in dataclasses.asdict(w.mix.expected).items()
            if getattr(got, kind) < wanted
        }
        if lacking:
            short[w.team_id] = lacking
    return short


def total(ledgers: Sequence[workspace_mix.Ledger]) -> workspace_mix.Ledger:
    return workspace_mix.Ledger(
        posts=sum(x.posts for x in ledgers),
        snapshots=sum(x.snapshots for x in ledgers),
        comments=sum(x.comments for x in ledgers),
    )


# Measuring a window -----------------------------------------------------------------------------


def classified(servers: Sequence[int]) -> dict[str, set[int]]:
    """The replicas' processes by kind: servers, their watchers and their chart workers."""
    groups: dict[str, set[int]] = {"server": set(servers), "watcher": set(), "charts": set()}
    for pid in set().union(*map(descendants, servers)):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--role\0watch" in command:
            groups["watcher"].add(pid)
        elif b"multiprocessing" in command:
            groups["charts"].add(pid)
    return groups


class Window:
    """CPU of the replicas (by kind), the database and the emulator, and the database's statements,
    from ``start()`` to ``stop()``; and the sweeps the replicas ran meanwhile (every ``SWEEP_SECONDS``
    from their start)."""

    def __init__(
        self, running: Sequence[Replica], slack: Slack, database_url: str, pg: Server | None
    ) -> None:
        self.servers = [replica.process.popen.pid for replica in running]
        self.slack = slack.process.popen.pid
        self.slack_url = slack.url
        self.refused: Counter[str] = Counter()
        self.statements = statement_stats(database_url, pg)
        self.postgres = PostgresCosts(pg, database_url, self.statements) if pg is not None else None
        self.meter = CpuMeter(self.pids)
        self.born = time.monotonic()
        self.started = self.born

    def pids(self) -> dict[str, set[int]]:
        groups = classified(self.servers) | {"slack": {self.slack}}
        return groups | (self.postgres.pids() if self.postgres else {})

    def start(self) -> None:
        if self.postgres:
            self.postgres.reset()
        self.refused = self.ratelimited()
        self.meter = CpuMeter(self.pids)
        self.meter.start()
        self.started = time.monotonic()

    def ratelimited(self) -> Counter[str]:
        """The 429s Slack answered so far, by method."""
        return Counter(control(self.slack_url, "/_emulator/limits")["ratelimited"])

    def stop(self) -> Costs:
        cpu = self.meter.stop()
        ended = time.monotonic()
        statements = sum(s.calls for s in self.postgres.read()) if self.postgres and self.statements else None
        kinds = {kind: cpu.get(kind, 0.0) for kind in ("server", "watcher", "charts", "slack")}
        kinds["db"] = cpu.get("pg_server", cpu.get("pg_backends", 0.0))
        # Each replica sweeps every workspace SWEEP_SECONDS after it started, and every SWEEP_SECONDS on.
        sweeps = len(self.servers) * (
            int((ended - self.born) // capacity.SWEEP_SECONDS)
            - int((self.started - self.born) // capacity.SWEEP_SECONDS)
        )
        refused = self.ratelimited()
        refused.subtract(self.refused)
        return Costs(ended - self.started, kinds, statements, sweeps, +refused)

    def close(self) -> None:
        if self.postgres:
            self.postgres.close()


APP = ("server", "watcher", "charts")


@dataclass(frozen=True)
class Costs:
    """What a window cost: its seconds, CPU seconds by kind (the replicas' servers, watchers and
    chart workers, the database, Slack), statements, and the sweeps that ran in it."""

    seconds: float
    cpu: dict[str, float]
    statements: int | None
    sweeps: int = 0
    ratelimited: Counter[str] = dataclasses.field(default_factory=Counter)

    @property
    def app(self) -> float:
        return sum(self.cpu[kind] for kind in APP)

    def less(self, idle: Costs) -> Costs:
        """These costs without what the idle fleet spends over as many seconds."""
        return Costs(
            self.seconds,
            {kind: cpu - idle.cpu[kind] / idle.seconds * self.seconds for kind, cpu in self.cpu.items()},
            self.statements,
            self.sweeps,
            self.ratelimited,
        )

    def json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "cpu_s": {kind: round(cpu, 2) for kind, cpu in self.cpu.items()},
            "statements": self.statements,
            "sweeps": self.sweeps,
            "ratelimited": dict(self.ratelimited),
        }


# The replicas -----------------------------------------------------------------------------------


@contextmanager
def running(slack: Slack, database_url: str, key: str, name: str) -> Iterator[list[Replica]]:
    """Two replicas in distribution mode, each with its own redirect URL."""

    def env(port: int) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": "",
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "SLACK_REDIRECT_URI": f"http://127.0.0.1:{port}/slack/oauth_redirect",
            "SLACK_AUTHORIZE_URL": slack.url + "/oauth/v2/authorize",
            "TWOWAY_ENCRYPTION_KEY": key,
        }

    with replica_processes(slack, database_url, REPLICAS, name, env=env) as started:
        yield started


def base(replica: Replica) -> str:
    return replica.url.removesuffix("/slack/events")


# The acts ---------------------------------------------------------------------------------------


@dataclass
class Workspace:
    team_id: str
    tracked: list[dict[str, Any]]
    mix: workspace_mix.Mix | None = None


def prepare_mixes(slack: Slack, teams: Sequence[str]) -> list[Workspace]:
    """Each workspace's tracked posts and its hour's requests, written in the emulator as people would."""
    workspaces = []
    for i, team_id in enumerate(teams):
        view = slack.at(team_id, channel_ids(team_id)[0])
        tracked = view.message_events(TRACKED)
        count = CHANNELS * REQUESTS_PER_CHANNEL_HOUR
        mix = workspace_mix.build(view, count, tracked=tracked, first_post=TRACKED, seed=i)
        workspaces.append(Workspace(team_id, tracked, mix))
        if i % 50 == 49:
            say(f"  {i + 1} workspaces' requests written")
    return workspaces


def interleaved(workspaces: Sequence[Workspace]) -> list[tuple[bytes, str]]:
    """Every workspace's requests, each in its own order, the workspaces taking turns."""
    lists = [w.mix.bodies for w in workspaces if w.mix is not None]
    return [body for turn in zip_longest(*lists) for body in turn if body is not None]


def send(running: Sequence[Replica], bodies: Sequence[tuple[bytes, str]], rate: float | None) -> Counter[str]:
    """Send ``bodies`` to the replicas in turn, at ``rate`` a second, and the events not answered 200
    again, as Slack does (up to ``DELIVERY_ATTEMPTS`` in all; a slash command it never sends twice);
    the answers that were not 200, by status, or why none came and after how long."""
    targets = cycle(replica.url for replica in running)
    requests = [(next(targets), body, kind) for body, kind in bodies]
    refused: Counter[str] = Counter()
    for _ in range(DELIVERY_ATTEMPTS):
        failed = [s for s in fire(requests, concurrency=50, rate=rate) if s.status != 200]
        refused.update(f"{s.status} {s.error} after {s.seconds:.0f} s".strip() for s in failed)
        requests = [requests[s.index] for s in failed if s.content_type == "application/json"]
        if not requests:
            break
        rate = None
    return refused


def hour_act(
    slack: Slack,
    database_url: str,
    pg: Server | None,
    key: str,
    workspaces: list[Workspace],
    calibrating: Sequence[str],
    rate: float,
    idle_seconds: float,
) -> dict[str, Any]:
    """Act 1: the idle fleet, the calibration workspaces' hour, then the fleet's."""
    watch = watcher_url(database_url, False)
    calibration = [w for w in workspaces if w.team_id in calibrating]
    fleet = [w for w in workspaces if w.team_id not in calibrating]
    fleet_ids = [w.team_id for w in fleet]
    every = [w.team_id for w in workspaces]
    with running(slack, database_url, key, "hour") as replicas:
        say("sharing each workspace's tracked posts, and the comments its flags land on")
        send(replicas, [b for w in workspaces for b in map(workspace_mix.event_body, w.tracked)], None)
        # The audience's replies come into threads twoway already tracks, as the flags expect.
        wait_ledger(watch, every, workspace_mix.Ledger(posts=TRACKED * len(workspaces)))
        send(replicas, [b for w in workspaces if w.mix for b in w.mix.setup], None)
        wait_ledger(watch, every, workspace_mix.Ledger(posts=TRACKED * len(workspaces)))
        analyze(database_url)
        window = Window(replicas, slack, database_url, pg)
        try:
            say(f"the idle fleet, {idle_seconds:.0f} s")
            # Past the replicas' start: their watchers' first reads and the database's first plans.
            time.sleep(SETTLE_SECONDS)
            window.start()
            time.sleep(idle_seconds)
            idle = window.stop()
            calibration_bodies = interleaved(calibration)
            say(f"the calibration workspaces' hour: {len(calibration_bodies)} requests at {rate:.0f}/s")
            window.start()
            refused = send(replicas, calibration_bodies, rate)
            got = wait_ledger(watch, calibrating, total([w.mix.expected for w in calibration if w.mix]))
            cal = window.stop()
            bodies = interleaved(fleet)
            say(f"the fleet's hour: {len(bodies)} requests of {len(fleet)} workspaces at {rate:.0f}/s")
            expected = total([w.mix.expected for w in fleet if w.mix])
            window.start()
            refused += send(replicas, bodies, rate)
            fleet_held = wait_ledger(watch, fleet_ids, expected)
            hour = window.stop()
            lacking = shortfalls(watch, workspaces)
            if lacking or refused:
                say(f"  answers not 200: {dict(refused)}; workspaces lacking rows: {lacking}")
        finally:
            window.close()
    return {
        "idle": idle,
        "calibration": cal,
        "calibration_requests": len(calibration_bodies),
        "calibration_held": got,
        "hour": hour,
        "hour_requests": len(bodies),
        "hour_expected": expected,
        "hour_held": fleet_held,
        "non_200": dict(refused),
        "lacking": lacking,
    }


def seed_slot(database_url: str, teams: Sequence[str], slot: datetime) -> None:
    """Each channel in the ledger with a post in the week before ``slot`` and one the week before that,
    recorded through the ledger's own functions (the slot's minute itself is set by ``schedule``)."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    for index, team_id in enumerate(teams):
        with sessions.begin() as s:
            for c, channel_id in enumerate(channel_ids(team_id)):
                seed_channel(s, team_id, channel_id, index * CHANNELS + c, slot, POSTS)
    engine.dispose()


def schedule(database_url: str, team_ids: Sequence[str], slot: datetime) -> None:
    """Every channel of ``team_ids`` due at ``slot``'s weekday and minute, in UTC."""
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as s:
        s.execute(
            update(Channel)
            .where(Channel.team_id.in_(team_ids))
            .values(digest_weekday=slot.weekday(), digest_minute=slot.hour * 60 + slot.minute, timezone="UTC")
        )
    engine.dispose()


def next_minute(after: datetime) -> datetime:
    return (after + timedelta(minutes=1)).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Slot:
    """One part of the shared slot, as measured."""

    costs: Costs
    wall: float | None
    digests: int
    charts: int
    lost: int
    doubled: int
    charts_lost: int
    outcome: str


def slot_act(
    slack: Slack,
    database_url: str,
    pg: Server | None,
    key: str,
    calibrating: Sequence[str],
    fleet: Sequence[str],
    timeout: float,
) -> dict[str, Slot]:
    """Act 2 and 3: the warm-up workspace's digests at one minute, the calibration workspaces' at the
    next, the fleet's at the one after."""
    watch = watcher_url(database_url, False)
    engine = make_engine(watch)
    sessions = make_session_factory(engine)
    first = next_minute(datetime.now(UTC) + LEAD)
    slots = {
        "warm-up": ([WARM_UP], first),
        "calibration": (list(calibrating), first + timedelta(minutes=1)),
        "fleet": (list(fleet), first + timedelta(minutes=2)),
    }
    for teams, at in slots.values():
        schedule(database_url, teams, at)
    forget_calls(slack)
    measured: dict[str, Slot] = {}
    with running(slack, database_url, key, "slot") as replicas:
        window = Window(replicas, slack, database_url, pg)
        try:
            for part, (teams, at) in slots.items():
                wait = (at - datetime.now(UTC)).total_seconds()
                digests = sum(len(channel_ids(t)) for t in teams)
                say(f"{part}: {digests} digests of {len(teams)} workspaces due in {wait:.0f} s")
                if wait > 0:
                    time.sleep(wait)
                window.start()
                outcome = _until_posted(sessions, slack, teams, timeout)
                costs = window.stop()
                measured[part] = _check(slack, teams, at, costs, outcome)
        finally:
            window.close()
    engine.dispose()
    return measured


def forget_calls(slack: Slack) -> None:
    """Empty the emulator's calls log, so that the slot's polls read the slot's calls only."""
    request = urllib.request.Request(slack.url + "/_emulator/calls", method="DELETE")
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _charts(slack: Slack, teams: Sequence[str]) -> list[dict[str, Any]]:
    wanted = set(teams)
    calls: list[dict[str, Any]] = control(slack.url, f"/_emulator/calls?method={CHARTS_METHOD}")
    return [c for c in calls if c["ok"] and c["team"] in wanted]


def _until_posted(sessions: Sessions, slack: Slack, teams: Sequence[str], timeout: float) -> str:
    """Wait until every channel of ``teams`` has its digest posted and its chart uploaded."""
    expected = sum(len(channel_ids(t)) for t in teams)
    deadline = time.monotonic() + timeout
    last_change, last_seen = time.monotonic(), -1
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        with sessions() as s:
            states = Counter(
                dict(
                    s.execute(
                        select(DigestRun.state, func.count())
                        .where(DigestRun.team_id.in_(teams))
                        .group_by(DigestRun.state)
                    ).all()
                )
            )
        if states["posted"] != last_seen:
            last_seen, last_change = states["posted"], time.monotonic()
        if states["posted"] == expected and len(_charts(slack, teams)) >= expected:
            return "complete"
        if time.monotonic() - last_change > 120:
            return "stalled"
    return "timeout"


def _check(slack: Slack, teams: Sequence[str], at: datetime, costs: Costs, outcome: str) -> Slot:
    digests: Counter[str] = Counter()
    for team_id in teams:
        digests += digest_posts(slack.url, team_id)
    charts = _charts(slack, teams)
    posts = [
        c for c in control(slack.url, "/_emulator/calls?method=chat.postMessage") if c["team"] in set(teams)
    ]
    times = [c["at"] for c in charts] + [c["at"] for c in posts if c["ok"]]
    last = max(times, default=0.0)
    every = [c for t in teams for c in channel_ids(t)]
    return Slot(
        costs,
        round(last - at.timestamp(), 2) if last else None,
        sum(digests.values()),
        len(charts),
        sum(1 for c in every if digests[c] == 0),
        sum(1 for c in every if digests[c] > 1),
        len(every) - len(charts),
        outcome,
    )


# The model's check ------------------------------------------------------------------------------


def unit_costs(act: dict[str, Any], slots: dict[str, Slot], installed: int) -> capacity.UnitCosts:
    """The model's unit costs: per request and per digest from the calibration, less what the idle
    fleet spends over as many seconds; the idle fleet's own, per workspace and replica; and what this
    benchmark doesn't measure (a sweep, a row's bytes) as measured elsewhere."""
    idle: Costs = act["idle"]
    events = act["calibration"].less(idle)
    digests = slots["calibration"].costs.less(idle)
    n_events, n_digests = act["calibration_requests"], slots["calibration"].digests

    def ms(cpu: float, n: int) -> float:
        return cpu * 1000 / n

    return dataclasses.replace(
        capacity.MEASURED,
        event_app_ms=ms(events.app, n_events),
        event_db_ms=ms(events.cpu["db"], n_events),
        event_statements=(events.statements or 0) / n_events,
        event_slack_ms=ms(events.cpu["slack"], n_events),
        digest_app_ms=ms(digests.app, n_digests),
        digest_chart_ms=ms(digests.cpu["charts"], n_digests),
        digest_db_ms=ms(digests.cpu["db"], n_digests),
        digest_statements=(digests.statements or 0) / n_digests,
        digest_slack_ms=ms(digests.cpu["slack"], n_digests),
        watch_app_ms=ms(idle.app, REPLICAS * installed) / idle.seconds,
        watch_db_ms=ms(idle.cpu["db"], REPLICAS * installed) / idle.seconds,
        watch_statements=(idle.statements or 0) / REPLICAS / installed / idle.seconds,
        # A few workspaces' slot goes at their own Slack limits' pace: as one workspace alone.
        alone_s=slots["calibration"].wall or 0.0,
    )


def predicted(
    units: capacity.UnitCosts, workspaces: int, window: Costs, *, events: int = 0, digests: int = 0
) -> dict[str, float]:
    """What the model says a window of ``events`` requests and ``digests`` digests costs: theirs, the
    idle replicas' over its seconds, and the sweeps that fell in it."""
    sweeps = window.sweeps * workspaces
    return {
        "app": (
            events * units.event_app_ms
            + digests * units.digest_app_ms
            + REPLICAS * workspaces * window.seconds * units.watch_app_ms
            + sweeps * units.sweep_app_ms
        )
        / 1000,
        "db": (
            events * units.event_db_ms
            + digests * units.digest_db_ms
            + REPLICAS * workspaces * window.seconds * units.watch_db_ms
            + sweeps * units.sweep_db_ms
        )
        / 1000,
        "slack": (events * units.event_slack_ms + digests * units.digest_slack_ms) / 1000,
        "statements": events * units.event_statements
        + digests * units.digest_statements
        + REPLICAS * workspaces * window.seconds * units.watch_statements
        + sweeps * units.sweep_statements,
    }


def compare(label: str, predicted: float | None, measured: float | None) -> list[Any]:
    ratio = f"{predicted / measured:.2f}" if predicted is not None and measured else "-"
    return [label, _round(predicted), _round(measured), ratio]


def _round(x: float | None) -> Any:
    return None if x is None else (round(x, 2) if abs(x) < 100 else round(x))


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "fleet",
        extra=[
            ("--workspaces", {"type": int, "help": "workspaces in the fleet (default 200; 20 quick)"}),
            ("--rate", {"type": float, "default": 200.0, "help": "requests a second in fast time (200)"}),
            (
                "--calibration",
                {"type": int, "help": "calibration workspaces, sending their hour first (10; 5 quick)"},
            ),
            ("--timeout", {"type": float, "default": 1800.0, "help": "give up on a slot after this long"}),
        ],
    )
    if not args.postgres:
        raise SystemExit(
            "bench.fleet runs on PostgreSQL: --postgres URL|embedded, or $TWOWAY_BENCH_POSTGRES_URL"
        )
    count = args.workspaces or (20 if args.quick else 200)
    calibrating = calibration_ids(args.calibration or (5 if args.quick else 10))
    idle_seconds = 10.0 if args.quick else 30.0
    fleet = team_ids(count)
    everyone = [*calibrating, WARM_UP, *fleet]
    key = Fernet.generate_key().decode()
    with TemporaryDirectory(prefix="twoway-fleet-") as workdir, server(args.postgres) as pg:
        assert pg is not None
        with emulator(Path(workdir), "--rate-limits") as slack, fresh_database(pg.url, "bench_fleet") as url:
            say(f"{len(everyone)} workspaces in Slack")
            build_world(slack, everyone)
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            say("installing twoway in each through OAuth")
            started = time.monotonic()
            with running(slack, url, key, "install") as replicas:
                statuses = Counter(
                    install(base(replicas[i % REPLICAS]), team_id, address(i))
                    for i, team_id in enumerate(everyone)
                )
            installs_s = time.monotonic() - started
            installs = installed(url)
            say(f"  {installs} installed in {installs_s:.1f} s (answers {dict(statuses)})")
            say("writing each workspace's requests in the emulator")
            workspaces = prepare_mixes(slack, [*calibrating, *fleet])
            act = hour_act(slack, url, pg, key, workspaces, calibrating, args.rate, idle_seconds)
            say("seeding every channel's weeks for the slot")
            seed_slot(url, everyone, next_minute(datetime.now(UTC) + timedelta(minutes=2)))
            slots = slot_act(slack, url, pg, key, calibrating, fleet, args.timeout)
    report(args.quick, count, len(everyone), installs, installs_s, act, slots)


def installed(database_url: str) -> int:
    """Workspaces with an installation stored."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(DISTINCT team_id) FROM slack_installations")) or 0)
    finally:
        engine.dispose()


def report(
    quick: bool,
    count: int,
    installed_workspaces: int,
    installs: int,
    installs_s: float,
    act: dict[str, Any],
    slots: dict[str, Slot],
) -> None:
    units = unit_costs(act, slots, installed_workspaces)
    hour: Costs = act["hour"]
    fleet = slots["fleet"]
    per_hour = predicted(units, installed_workspaces, hour, events=act["hour_requests"])
    per_slot = predicted(units, installed_workspaces, fleet.costs, digests=fleet.digests)
    cores = os.cpu_count() or 2
    # The watchers' reads go on throughout, and each replica's sweep falls in the slot when it falls.
    watching = REPLICAS * installed_workspaces * (units.watch_app_ms + units.watch_db_ms) / 1000
    sweeping = fleet.costs.sweeps * installed_workspaces * (units.sweep_app_ms + units.sweep_db_ms) / 1000
    model = capacity.fan_out(
        count,
        capacity.FLEET,
        units,
        replicas=REPLICAS,
        cores=cores,
        background_cores=watching,
        background_cpu_s=sweeping,
    )
    statements = hour.statements is not None
    rows = [
        compare("hour: app CPU s", per_hour["app"], hour.app),
        compare("hour: database CPU s", per_hour["db"], hour.cpu["db"]),
        compare("hour: statements", per_hour["statements"] if statements else None, hour.statements),
        compare("slot: app CPU s", per_slot["app"], fleet.costs.app),
        compare("slot: database CPU s", per_slot["db"], fleet.costs.cpu["db"]),
        compare("slot: statements", per_slot["statements"] if statements else None, fleet.costs.statements),
        compare(f"slot: wall s (bound by {model.bound})", model.wall_s, fleet.wall),
        # Slack's side, not twoway's: shown, not judged.
        compare("(hour: Slack's CPU s, the emulator)", per_hour["slack"], hour.cpu["slack"]),
        compare("(slot: Slack's CPU s, the emulator)", per_slot["slack"], fleet.costs.cpu["slack"]),
    ]
    say(
        table(
            f"The model beside the fleet of {count} workspaces (goal: predicted/measured 0.75-1.25)",
            ["", "predicted", "measured", "ratio"],
            rows,
        )
    )
    checks = [
        [part, s.digests, s.charts, s.lost, s.doubled, s.charts_lost, s.wall, s.outcome]
        for part, s in slots.items()
    ]
    header = ["part", "digests", "charts", "lost", "doubled", "charts lost", "wall s", "outcome"]
    say(table("The shared slot (goal: 0 lost, 0 doubled)", header, checks))
    record(
        "fleet",
        quick,
        {
            "workspaces": count,
            "channels": CHANNELS,
            "installed": installs,
            "installs_s": round(installs_s, 1),
            "non_200": act["non_200"],
            "lacking": act["lacking"],
            "units": dataclasses.asdict(units),
            "idle": act["idle"].json(),
            "calibration": act["calibration"].json(),
            "hour": {
                **hour.json(),
                "requests": act["hour_requests"],
                "expected": dataclasses.asdict(act["hour_expected"]),
                "held": dataclasses.asdict(act["hour_held"]),
            },
            "slots": {
                part: {
                    **s.costs.json(),
                    **{k: v for k, v in dataclasses.asdict(s).items() if k != "costs"},
                }
                for part, s in slots.items()
            },
            "model_slot": dataclasses.asdict(model),
            "comparison": {row[0]: row[1:] for row in rows},
        },
    )


if __name__ == "__main__":
    main()
