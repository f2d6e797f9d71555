"""The watcher over a real ledger, with readers the tests script: each post fetched once per slot by
however many replicas, failures that lose and close nothing, a dead replica's claim taken over, posts
gone or no longer watched, snapshots only on change, and replies withdrawn once their network drops them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.live import remember
from bot.threads import FetchError, PostGone, RateLimited, Reply, Thread
from bot.watcher import FETCH_LEASE, Watcher
from bot.watching import slot_of, spread_of
from storage.comments import flag_comment
from storage.models import Channel, Comment, Nudge, Post, PostedMessage, Snapshot, Watch
from storage.snapshots import add_snapshot
from storage.watches import claim_watch, create_watches, due_watches, settle_fetched
from tests.support.polling import eventually
from tests.support.readers import Clock, FakeReader, epoch, reply, thread, watched_post

Sessions = sessionmaker[Session]
TEAM, OTHER_TEAM = "T0TWOWAY1", "T0OTHER01"
CHANNEL, QUIET = "C0SOCIAL01", "C0QUIET001"
SHARED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def url(n: int) -> str:
    return f"https://bsky.app/profile/acme.bsky.social/post/3k{n:03d}"


def at(minutes: float) -> datetime:
    return SHARED + timedelta(minutes=minutes)


def fans(*ids: str) -> list[Reply]:
    return [reply(i, by=f"fan-{i}.bsky.social", at=at(1)) for i in ids]


def posts(sessions: Sessions, count: int, *, channel: str = CHANNEL, team: str = TEAM) -> list[int]:
    with sessions.begin() as s:
        return [watched_post(s, team, channel, url(n), shared_at=SHARED) for n in range(count)]


def watcher(sessions: Sessions, reader: FakeReader, clock: Clock, replica: str = "replica-a") -> Watcher:
    return Watcher(sessions, {"bluesky": reader}, replica, clock, lambda: [TEAM])


def comments(sessions: Sessions, team: str = TEAM) -> dict[str, tuple[str, datetime | None]]:
    with sessions.begin() as s:
        return {
            c.remote_id or "": (c.state, c.answered_at)
            for c in s.scalars(select(Comment).where(Comment.team_id == team))
        }


def the_watch(sessions: Sessions, post_id: int) -> Watch:
    with sessions.begin() as s:
        watch = s.scalars(select(Watch).where(Watch.team_id == TEAM, Watch.post_id == post_id)).one()
        s.expunge(watch)
        return watch


def test_watches_are_made_for_recent_bluesky_and_mastodon_posts_of_watching_channels_once(
    sessions: Sessions,
) -> None:
    now = at(10)
    with sessions.begin() as s:
        fresh = watched_post(s, TEAM, CHANNEL, url(1), shared_at=SHARED)
        toot = watched_post(s, TEAM, CHANNEL, "https://mastodon.social/@acme/1234", shared_at=SHARED)
        watched_post(s, TEAM, CHANNEL, url(2), shared_at=now - timedelta(days=31))
        withdrawn = watched_post(s, TEAM, CHANNEL, url(3), shared_at=SHARED)
        s.execute(update(Post).where(Post.id == withdrawn).values(withdrawn_at=now))
        tweet = watched_post(s, TEAM, CHANNEL, "https://x.com/acme/status/1", shared_at=SHARED)
        s.execute(update(Post).where(Post.id == tweet).values(platform="x"))
        watched_post(s, TEAM, QUIET, url(4), shared_at=SHARED)
        s.execute(update(Channel).where(Channel.channel_id == QUIET).values(watch_enabled=False))
        watched_post(s, OTHER_TEAM, CHANNEL, url(5), shared_at=SHARED)
    with sessions.begin() as s:
        assert create_watches(s, TEAM, now=now) == 2
        assert create_watches(s, TEAM, now=now) == 0
        made = {(w.post_id, w.network, w.anchor_at, w.due_at) for w in s.scalars(select(Watch))}
        assert [w.post_id for w in due_watches(s, TEAM, now=now)] == sorted([fresh, toot])
    assert made == {(fresh, "bluesky", SHARED, now), (toot, "mastodon", SHARED, now)}


def test_two_replicas_at_the_same_instants_fetch_each_post_once_per_slot(sessions: Sessions) -> None:
    ids = posts(sessions, 3)
    reader = FakeReader()
    for n in range(3):
        reader.show(url(n), thread(*fans(f"r{n}"), created_at=SHARED))
    clock = Clock(SHARED)
    a, b = watcher(sessions, reader, clock, "replica-a"), watcher(sessions, reader, clock, "replica-b")
    instants = [at(minutes) for minutes in range(0, 24 * 60 * 2, 7)]
    for turn, instant in enumerate(instants):
        clock.now = instant
        for replica in (a, b) if turn % 2 else (b, a):
            replica.run_once()
    for n, post_id in enumerate(ids):
        slots = {slot_of(SHARED, instant, spread_of(post_id)) for instant in instants}
        assert reader.calls[url(n)] == len(slots), f"post {n}"
        assert 100 < len(slots) < 130
    assert comments(sessions) == {f"r{n}": ("open", None) for n in range(3)}


def test_replicas_racing_on_threads_fetch_each_post_once_per_slot(sessions: Sessions) -> None:
    posts(sessions, 4)
    reader = FakeReader()
    for n in range(4):
        reader.show(url(n), thread(*fans(f"r{n}"), created_at=SHARED))
    clock = Clock(SHARED)
    replicas = [watcher(sessions, reader, clock, f"replica-{i}") for i in range(4)]
    # 0, then after each post's first 15-minute slot: every post is due twice, whoever runs.
    for instant in (at(0), at(31)):
        clock.now = instant
        start = threading.Barrier(len(replicas))
        runners = [threading.Thread(target=_together, args=(start, replica)) for replica in replicas]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join(30)
    assert dict(reader.calls) == {url(n): 2 for n in range(4)}
    with sessions.begin() as s:
        assert s.scalars(select(Snapshot.post_id).where(Snapshot.source == "fetched")).all().__len__() == 4


def _together(start: threading.Barrier, replica: Watcher) -> None:
    start.wait()
    replica.run_once()


def test_a_rate_limit_storm_loses_and_closes_nothing_and_the_recovery_records_everything(
    sessions: Sessions,
) -> None:
    first, second = posts(sessions, 2)
    reader = FakeReader()
    answered = reply("ours", parent="a", by="acme.bsky.social", by_id="did:plc:acme", at=at(100))
    reader.show(url(0), thread(*fans("a", "b"), created_at=SHARED))
    reader.show(url(1), thread(*fans("c"), created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    assert job.run_once().fetched == 2
    storm = 0
    for minutes in range(20, 200, 20):
        clock.now = at(minutes)
        retry = at(minutes + 10)
        reader.show(url(0), RateLimited(epoch(retry)))
        reader.show(url(1), RateLimited(epoch(retry)))
        calls = sum(reader.calls.values())
        done = job.run_once()
        # One fetch per round at most: the network said to wait, so its other due watch waited too.
        assert sum(reader.calls.values()) - calls == done.failed == 1
        storm += done.failed
        assert done.fetched == 0
        for post_id in (first, second):
            due = the_watch(sessions, post_id).due_at
            assert due is not None
            assert due > clock.now
        assert comments(sessions) == {"a": ("open", None), "b": ("open", None), "c": ("open", None)}
    assert the_watch(sessions, first).attempts + the_watch(sessions, second).attempts == storm
    reader.show(url(0), thread(*fans("a", "b", "d"), answered, created_at=SHARED, likes=5))
    reader.show(url(1), thread(*fans("c"), created_at=SHARED))
    clock.now = at(240)
    assert job.run_once().fetched == 2
    assert comments(sessions) == {
        "a": ("answered", at(100)),
        "b": ("open", None),
        "c": ("open", None),
        "d": ("open", None),
    }
    assert the_watch(sessions, first).attempts == 0
    assert the_watch(sessions, first).error is None


def test_an_outage_backs_off_changes_nothing_and_the_recovery_takes_the_current_slot(
    sessions: Sessions,
) -> None:
    (post_id,) = posts(sessions, 1)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    job.run_once()
    reader.show(url(0), FetchError("503 Service Unavailable"))
    waits = []
    clock.now = at(31)
    for _ in range(5):
        assert job.run_once().failed == 1
        watch = the_watch(sessions, post_id)
        assert watch.error == "FetchError: 503 Service Unavailable"
        assert watch.due_at is not None
        waits.append(watch.due_at - clock.now)
        clock.now = watch.due_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert comments(sessions) == {"a": ("open", None)}
    calls = reader.calls[url(0)]
    reader.show(url(0), thread(*fans("a", "b"), created_at=SHARED))
    clock.now = at(60 * 30)
    job.run_once()
    assert reader.calls[url(0)] == calls + 1
    watch = the_watch(sessions, post_id)
    spread = spread_of(post_id)
    # The missed slots are not caught up: the next fetch is the slot after the current one.
    assert watch.slot == slot_of(SHARED, at(60 * 30), spread)
    assert watch.due_at is not None
    assert watch.due_at > at(60 * 30)
    assert comments(sessions) == {"a": ("open", None), "b": ("open", None)}


def test_a_dead_replicas_claim_is_taken_over_after_its_lease_and_its_late_result_is_dropped(
    sessions: Sessions,
) -> None:
    (post_id,) = posts(sessions, 1)
    with sessions.begin() as s:
        create_watches(s, TEAM, now=at(0))
        watch_id = s.scalars(select(Watch.id)).one()
        assert claim_watch(s, TEAM, watch_id, slot=0, replica="dead", now=at(0), lease=FETCH_LEASE)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED))
    clock = Clock(at(1))
    job = watcher(sessions, reader, clock, "replica-b")
    job.run_once()
    assert reader.calls[url(0)] == 0
    clock.now = at(0) + FETCH_LEASE + timedelta(seconds=1)
    assert job.run_once().fetched == 1
    assert reader.calls[url(0)] == 1
    with sessions.begin() as s:
        late = settle_fetched(
            s,
            TEAM,
            watch_id,
            replica="dead",
            claimed_at=at(0),
            target="x",
            anchor_at=SHARED,
            slot=0,
            due_at=at(1),
            now=at(6),
        )
        assert late is False
    assert the_watch(sessions, post_id).target == "at://did:plc:acme/app.bsky.feed.post/post"


def test_a_post_gone_is_no_longer_fetched(sessions: Sessions) -> None:
    (post_id,) = posts(sessions, 1)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED), PostGone("not found"))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    job.run_once()
    clock.now = at(30)
    assert job.run_once().gone == 1
    for minutes in (60, 600, 6000):
        clock.now = at(minutes)
        job.run_once()
    assert reader.calls[url(0)] == 2
    assert the_watch(sessions, post_id).due_at is None
    assert comments(sessions) == {"a": ("open", None)}


def test_watching_off_stops_fetches_and_keeps_comments_and_on_resumes(sessions: Sessions) -> None:
    posts(sessions, 1)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    job.run_once()

    def switch(on: bool) -> None:
        with sessions.begin() as s:
            s.execute(update(Channel).where(Channel.team_id == TEAM).values(watch_enabled=on))

    switch(False)
    for minutes in (30, 90, 600):
        clock.now = at(minutes)
        job.run_once()
    assert reader.calls[url(0)] == 1
    assert comments(sessions) == {"a": ("open", None)}
    switch(True)
    reader.show(url(0), thread(*fans("a", "b"), created_at=SHARED))
    job.run_once()
    assert reader.calls[url(0)] == 2
    assert comments(sessions) == {"a": ("open", None), "b": ("open", None)}


def test_a_snapshot_is_recorded_when_the_numbers_change_or_were_typed_since_and_typed_ones_are_kept(
    sessions: Sessions,
) -> None:
    (post_id,) = posts(sessions, 1)
    with sessions.begin() as s:
        add_snapshot(
            s,
            TEAM,
            post_id,
            comments_received=9,
            replies_sent=1,
            shares=2,
            likes=3,
            recorded_at=at(-1),
            recorded_by="U0ADA00001",
            source="command",
        )
    reader = FakeReader()
    same = thread(*fans("a"), created_at=SHARED, likes=4, quotes=1)
    reader.show(url(0), same, same, same, same, thread(*fans("a"), created_at=SHARED, likes=5, quotes=1))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    for minutes in (0, 31, 62):
        clock.now = at(minutes)
        job.run_once()
    # Someone types numbers after the fetches: the next fetch records the network's again, unchanged.
    with sessions.begin() as s:
        add_snapshot(
            s,
            TEAM,
            post_id,
            comments_received=12,
            replies_sent=2,
            shares=2,
            likes=3,
            recorded_at=at(70),
            recorded_by="U0GRACE001",
            source="command",
        )
    for minutes in (93, 124):
        clock.now = at(minutes)
        job.run_once()
    assert reader.calls[url(0)] == 5
    with sessions.begin() as s:
        rows = [
            (r.source, r.recorded_at, r.comments_received, r.likes, r.quotes, r.recorded_by)
            for r in s.scalars(select(Snapshot).order_by(Snapshot.recorded_at))
        ]
        refs = list(s.scalars(select(Snapshot.source_ref).where(Snapshot.source == "fetched")))
    assert rows == [
        ("command", at(-1), 9, 3, None, "U0ADA00001"),
        ("fetched", at(0), 1, 4, 1, None),
        ("command", at(70), 12, 3, None, "U0GRACE001"),
        ("fetched", at(93), 1, 4, 1, None),
        ("fetched", at(124), 1, 5, 1, None),
    ]
    assert len(set(refs)) == 3
    assert all((ref or "").startswith("bluesky fetch ") for ref in refs)


def test_replies_the_network_hid_or_dropped_are_withdrawn_and_nothing_else(sessions: Sessions) -> None:
    (post_id,) = posts(sessions, 1)
    ours = reply("ours", parent="kept-answered", by="acme.bsky.social", by_id="did:plc:acme", at=at(2))
    everyone = fans("hidden", "dropped", "still", "unsure", "kept-answered")
    reader = FakeReader()
    reader.show(url(0), thread(*everyone, ours, created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    job.run_once()
    with sessions.begin() as s:
        dropped = s.scalars(select(Comment).where(Comment.remote_id == "dropped")).one()
        # The dropped reply was nudged and shown in a digest: its nudge goes with it, its message is redrawn.
        s.add(Nudge(team_id=TEAM, comment_id=dropped.id, level=1, state="sent", claimed_at=at(1)))
        remember(
            s,
            TEAM,
            channel_id=CHANNEL,
            ts="9.1",
            kind="digest",
            recipe={},
            comment_ids=[dropped.id],
            now=at(1),
        )
    by_id = {r.id: r for r in everyone}
    # "unsure" goes missing while the network can't say whether it is still there: it stays.
    reader.still = FetchError("timeout")
    reader.show(url(0), thread(*[by_id[i] for i in ("hidden", "still", "dropped")], created_at=SHARED))
    clock.now = at(31)
    job.run_once()
    assert set(comments(sessions)) == {"hidden", "dropped", "still", "unsure", "kept-answered"}
    reader.still = {"still"}
    reader.show(url(0), thread(by_id["hidden"], by_id["unsure"], created_at=SHARED, hidden=["hidden"]))
    clock.now = at(62)
    job.run_once()
    assert reader.still_calls[-1] == (url(0), ("dropped", "still"))
    assert comments(sessions) == {
        "still": ("open", None),
        "unsure": ("open", None),
        "kept-answered": ("answered", at(2)),
    }
    with sessions.begin() as s:
        assert s.scalars(select(Nudge)).all() == []
        assert list(s.scalars(select(PostedMessage.stale_since))) == [at(62)]
        assert s.scalars(select(Comment.post_id)).all() == [post_id] * 3


def test_a_failure_to_read_leaves_the_claimed_slot_to_be_read_again(sessions: Sessions) -> None:
    (post_id,) = posts(sessions, 1)
    reader = FakeReader()
    boom: Thread | Exception = RuntimeError("a reader's own bug")
    reader.show(url(0), boom, thread(*fans("a"), created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    assert job.run_once().failed == 1
    assert comments(sessions) == {}
    clock.now = at(1)
    assert job.run_once().fetched == 1
    assert comments(sessions) == {"a": ("open", None)}
    assert the_watch(sessions, post_id).slot == 0


def test_a_network_that_says_wait_waits_in_every_workspace_of_the_round(sessions: Sessions) -> None:
    (first,) = posts(sessions, 1)
    with sessions.begin() as s:
        other = watched_post(s, OTHER_TEAM, CHANNEL, url(9), shared_at=SHARED)
    reader = FakeReader()
    retry = at(10)
    reader.show(url(0), RateLimited(epoch(retry)))
    reader.show(url(9), thread(*fans("z"), created_at=SHARED))
    job = Watcher(sessions, {"bluesky": reader}, "replica-a", Clock(at(0)), lambda: [TEAM, OTHER_TEAM])
    done = job.run_once()
    assert (done.failed, done.fetched, done.postponed) == (1, 0, 1)
    assert reader.calls[url(9)] == 0
    with sessions.begin() as s:
        dues = {w.post_id: w.due_at for w in s.scalars(select(Watch))}
    assert dues == {first: retry, other: retry}


def test_started_it_runs_rounds_on_its_own_until_shut_down(sessions: Sessions) -> None:
    posts(sessions, 1)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED))
    job = Watcher(
        sessions, {"bluesky": reader}, "replica-a", Clock(at(0)), lambda: [TEAM], every=timedelta(seconds=1)
    )
    job.start()
    try:
        eventually(lambda: comments(sessions) == {"a": ("open", None)}, what="the first round's comment")
    finally:
        job.shutdown()
    assert reader.calls[url(0)] == 1


def test_one_posts_broken_answer_leaves_the_others_fetched_and_its_comments_in_place(
    sessions: Sessions,
) -> None:
    posts(sessions, 2)
    reader = FakeReader()
    reader.show(url(0), thread(*fans("a"), created_at=SHARED))
    reader.show(url(1), thread(*fans("b"), created_at=SHARED))
    clock = Clock(at(0))
    job = watcher(sessions, reader, clock)
    job.run_once()
    # The next fetch of post 0 misses "a", and asking after it breaks in the reader itself.
    reader.still = RuntimeError("a reader's own bug")
    reader.show(url(0), thread(created_at=SHARED))
    reader.show(url(1), thread(*fans("b", "c"), created_at=SHARED))
    clock.now = at(31)
    assert job.run_once().fetched == 2
    assert comments(sessions) == {"a": ("open", None), "b": ("open", None), "c": ("open", None)}


def test_a_reply_someone_flagged_by_quoting_it_is_that_comment_not_a_second_one(sessions: Sessions) -> None:
    (post_id,) = posts(sessions, 1)
    with sessions.begin() as s:
        post = s.get_one(Post, post_id)
        quoted, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text="@alex.bsky.social: Screen reader support on Linux??",
            author=None,
            flagged_by="U0GRACE001",
            flagged_at=at(1),
            message_ts="1.1",
        )
        linked, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text="when is the next release",
            author="sam",
            flagged_by="U0GRACE001",
            flagged_at=at(1),
            message_ts="1.2",
            url="https://bsky.app/profile/sam.bsky.social/post/r2",
        )
        ids = {"r1": quoted.id, "r2": linked.id}
    alex = reply("r1", by="alex.bsky.social", at=at(0), text="Screen reader support on Linux?")
    sam = reply("r2", by="sam.bsky.social", at=at(0), text="When is the next release? 🙏")
    short = reply("r3", by="jo.bsky.social", at=at(0), text="Linux?")
    ours = reply("ours", parent="r1", by="acme.bsky.social", by_id="did:plc:acme", at=at(40))
    reader = FakeReader()
    reader.show(url(0), thread(alex, sam, short, created_at=SHARED))
    clock = Clock(at(2))
    job = watcher(sessions, reader, clock)
    job.run_once()
    with sessions.begin() as s:
        found = {c.remote_id: (c.id, c.flagged_by, c.seen_on, c.author) for c in s.scalars(select(Comment))}
    # Too short a reply to recognise in a quote is a comment of its own.
    assert found == {
        "r1": (ids["r1"], "U0GRACE001", "bluesky", "alex.bsky.social"),
        "r2": (ids["r2"], "U0GRACE001", "bluesky", "sam"),
        "r3": (found["r3"][0], None, "bluesky", "jo.bsky.social"),
    }
    # The team answers alex on the network; sam's reply is deleted there: sam's flag stays, as flagged.
    reader.still = set()
    reader.show(url(0), thread(alex, short, ours, created_at=SHARED))
    clock.now = at(62)
    job.run_once()
    assert comments(sessions) == {"r1": ("answered", at(40)), "r2": ("open", None), "r3": ("open", None)}


def test_a_flag_of_a_reply_twoway_already_read_is_that_comment(sessions: Sessions) -> None:
    (post_id,) = posts(sessions, 1)
    reader = FakeReader()
    alex = reply("r1", by="alex.bsky.social", at=at(0), text="Screen reader support on Linux?")
    reader.show(url(0), thread(alex, created_at=SHARED))
    watcher(sessions, reader, Clock(at(1))).run_once()
    with sessions.begin() as s:
        post = s.get_one(Post, post_id)
        flags = [
            ("> @alex.bsky.social: screen reader support on Linux?", "1.1", None),
            ("see this one", None, "https://bsky.app/profile/alex.bsky.social/post/r1"),
        ]
        found = [
            flag_comment(
                s,
                TEAM,
                post=post,
                channel_id=CHANNEL,
                text=text,
                author=None,
                flagged_by="U0GRACE001",
                flagged_at=at(2),
                message_ts=ts,
                url=link,
            )
            for text, ts, link in flags
        ]
        assert [(c.remote_id, c.flagged_by, new) for c, new in found] == [("r1", None, False)] * 2
        assert len(s.scalars(select(Comment)).all()) == 1
