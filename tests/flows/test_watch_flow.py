"""Bluesky and Mastodon posts shared in Slack, read by the watcher with the networks' own clients (the
atproto SDK, Mastodon.py) from the emulators: fetched snapshots, replies that become comments nobody
flagged, the team's answer closing the one it answers and a follow-up opening a new one; a 429 storm
and an outage that lose and close nothing; and two replicas that fetch each post once per slot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.threads import Reader
from bot.watch_bluesky import BlueskyReader
from bot.watch_mastodon import MastodonReader
from bot.watcher import Watcher
from bot.watching import slot_of, spread_of
from emulator import Emulator
from emulator.mastodon_api import MastodonFault
from storage.models import Comment, Snapshot, Watch
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, TEAM, Flow, Later
from tests.support.polling import eventually

# Each round moves the watcher's clock past a slot: 15 minutes, plus each post's offset of up to 15.
STEP = timedelta(minutes=31)
AFTER_ANY_BACKOFF = timedelta(minutes=61)
TIMEOUT = 0.5
# A comment as the tests compare it: author, text, state, when it was answered.
Row = tuple[str, str, str, datetime | None]


@dataclass
class Network:
    """One network as the emulator plays it, and the team's account on it."""

    name: str
    emulator: Emulator
    clock: Later
    # When the last post or reply was written, to the millisecond, as both networks keep it.
    written: datetime = datetime.min

    @property
    def team(self) -> str:
        return "acme.bsky.social" if self.name == "bluesky" else "acme"

    def fan(self, n: int) -> str:
        return f"fan{n}.bsky.social" if self.name == "bluesky" else f"fan{n}@fosstodon.org"

    def post(self, author: str, text: str, reply_to: str | None = None) -> tuple[str, str]:
        """A post or reply, written at ``written`` (set to now by the watcher's clock); its id and its
        link."""
        written = self.clock()
        self.written = written.replace(microsecond=written.microsecond // 1000 * 1000)
        if self.name == "bluesky":
            made = self.emulator.state.bluesky.post(author, text, reply_to, created_at=written)
            return made.uri, f"https://bsky.app/profile/{author}/post/{made.uri.rsplit('/', 1)[1]}"
        status = self.emulator.state.mastodon.post(
            "mastodon.social", author, text, reply_to, created_at=written.timestamp()
        )
        return status, f"https://mastodon.social/@{author}/{status}"

    def reader(self) -> Reader:
        base, epoch = self.emulator.base_url, lambda: self.clock().timestamp()
        if self.name == "bluesky":
            return BlueskyReader(f"{base}/bluesky", timeout=TIMEOUT, clock=epoch)
        return MastodonReader(f"{base}/mastodon", timeout=TIMEOUT, clock=epoch)

    def fail(self, status: int | None, count: int, *, delay: float = 0.0) -> None:
        """The next ``count`` reads of a thread fail with ``status``, or answer ``delay`` seconds late."""
        if self.name == "bluesky":
            self.emulator.state.bluesky.fail(status or 200, count, "app.bsky.feed.getPostThread", delay=delay)
        else:
            self.emulator.state.mastodon.add_fault(
                MastodonFault(status=status, count=count, path="/api/v1/statuses/:id/context", delay=delay)
            )

    def thread_reads(self) -> int:
        """The reads of a post's thread the network answered."""
        if self.name == "bluesky":
            calls = self.emulator.state.bluesky.calls("app.bsky.feed.getPostThread")
        else:
            calls = self.emulator.state.mastodon.calls(route="/api/v1/statuses/:id/context")
        return sum(1 for call in calls if call["status"] == 200)


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def flow(db_url: str, later: Later) -> Iterator[Flow]:
    with running_flow(db_url, clock=later) as running:
        yield running


@pytest.fixture(params=["bluesky", "mastodon"])
def network(request: pytest.FixtureRequest, flow: Flow, later: Later) -> Network:
    return Network(request.param, flow.emulator, later)


def _watcher(flow: Flow, network: Network, replica: str = "replica-a") -> Watcher:
    return Watcher(flow.sessions, {network.name: network.reader()}, replica, network.clock, lambda: [TEAM])


def _comments(flow: Flow) -> list[Row]:
    with flow.sessions.begin() as s:
        return [
            (c.author or "", c.text, c.state, c.answered_at)
            for c in s.scalars(
                select(Comment).where(Comment.team_id == TEAM).order_by(Comment.written_at, Comment.id)
            )
        ]


def _snapshots(flow: Flow) -> list[tuple[str, int, int, int, int]]:
    with flow.sessions.begin() as s:
        return [
            (r.source, r.comments_received, r.replies_sent, r.shares, r.likes)
            for r in s.scalars(
                select(Snapshot).where(Snapshot.team_id == TEAM).order_by(Snapshot.recorded_at)
            )
        ]


def _share(flow: Flow, network: Network) -> str:
    """The team's post on the network, shared in Slack by Ada; its id there."""
    post, link = network.post(network.team, "Our launch")
    flow.say(ADA, f"Out now <{link}>")
    eventually(lambda: flow.calls("reactions.add"), what="twoway to track the post")
    return post


def _round(network: Network, *watchers: Watcher, step: timedelta = STEP) -> None:
    network.clock.ahead += step
    for watcher in watchers:
        watcher.run_once()


def _opened(network: Network, post: str) -> tuple[list[str], list[Row]]:
    """Three questions from the audience under ``post``; their ids, and the comments they should be."""
    asked = [(network.fan(n), question) for n, question in enumerate(("When?", "Which plan?", "Is it open?"))]
    ids = []
    for fan, question in asked:
        network.clock.ahead += timedelta(seconds=1)
        ids.append(network.post(fan, question, post)[0])
    return ids, [(fan, question, "open", None) for fan, question in asked]


def test_replies_become_comments_the_teams_answer_closes_one_and_a_follow_up_opens_another(
    flow: Flow, network: Network
) -> None:
    post = _share(flow, network)
    replies, expected = _opened(network, post)
    watcher = _watcher(flow, network)
    watcher.run_once()
    assert _comments(flow) == expected
    assert _snapshots(flow) == [("fetched", 3, 0, 0, 0)]

    network.clock.ahead += timedelta(minutes=1)
    ours, _ = network.post(network.team, "The Pro plan, and it's free for a month.", replies[1])
    answered_at = network.written
    _round(network, watcher)
    expected[1] = (network.fan(1), "Which plan?", "answered", answered_at)
    assert _comments(flow) == expected

    network.post(network.fan(1), "Thanks! And after the month?", ours)
    _round(network, watcher)
    assert _comments(flow) == [*expected, (network.fan(1), "Thanks! And after the month?", "open", None)]
    assert _snapshots(flow)[-1] == ("fetched", 4, 1, 0, 0)


@pytest.mark.parametrize("outage", ["429", "500", "timeout"])
def test_a_failing_network_loses_and_closes_nothing_and_the_recovery_records_everything(
    flow: Flow, network: Network, outage: str
) -> None:
    post = _share(flow, network)
    replies, expected = _opened(network, post)
    watcher = _watcher(flow, network)
    watcher.run_once()
    assert _comments(flow) == expected
    network.clock.ahead += timedelta(minutes=1)
    network.post(network.team, "Tomorrow!", replies[0])
    answered_at = network.written
    network.post(network.fan(3), "Any discount?", post)

    storm = 6
    if outage == "timeout":
        network.fail(None, storm, delay=TIMEOUT * 2)
    else:
        network.fail(int(outage), storm)
    before = network.thread_reads()
    for _ in range(storm):
        # Past any backoff (an hour at most): each round asks again, and fails again.
        _round(network, watcher, step=AFTER_ANY_BACKOFF)
        assert _comments(flow) == expected
        assert _snapshots(flow) == [("fetched", 3, 0, 0, 0)]
    if outage != "timeout":
        # A late answer is written down as given, though nobody waited for it.
        assert network.thread_reads() == before

    _round(network, watcher, step=AFTER_ANY_BACKOFF)
    expected[0] = (network.fan(0), "When?", "answered", answered_at)
    assert _comments(flow) == [*expected, (network.fan(3), "Any discount?", "open", None)]
    assert _snapshots(flow)[-1] == ("fetched", 4, 1, 0, 0)


def test_two_replicas_fetch_each_post_once_per_slot(flow: Flow, network: Network) -> None:
    _share(flow, network)
    a, b = _watcher(flow, network, "replica-a"), _watcher(flow, network, "replica-b")
    instants = []
    for turn in range(12):
        network.clock.ahead += timedelta(minutes=7)
        instants.append(network.clock())
        for watcher in (a, b) if turn % 2 else (b, a):
            watcher.run_once()
    with flow.sessions.begin() as s:
        watch = s.scalars(select(Watch).where(Watch.team_id == TEAM)).one()
        slots = {slot_of(watch.anchor_at, instant, spread_of(watch.post_id)) for instant in instants}
    # 84 minutes cross the post's first few 15-minute slots: one read in each, never two.
    assert 4 <= len(slots) <= 6
    assert network.thread_reads() == len(slots)
