"""Short links resolved against a link server on loopback, then merged into the post they lead to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.links import parse_post_link
from bot.nudges import Nudger
from bot.resolver import (
    MAX_ATTEMPTS,
    MAX_HOPS,
    USER_AGENT,
    LinkResolver,
    Outcome,
    Resolver,
    Unresolved,
    due,
    make_opener,
    routed_to,
)
from bot.scheduler import LINKS_JOB_ID, Schedules, known_teams
from emulator import Emulator, EmulatorSettings
from storage.channel_sources import add_sources
from storage.channels import ensure_channel
from storage.comments import flag_comment
from storage.models import Comment, Post, PostShare, Snapshot
from storage.posts import SharedLink, record_share
from storage.snapshots import add_snapshot
from tests.support.publishing import make_publisher, slack_client

TEAM = "T1"
OTHER_TEAM = "T2"
CHANNEL = "C1"
ADA, GRACE = "U0ADA", "U0GRACE"
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SHORT = "https://lnkd.in/gAbCdEf"
LONG = "https://www.linkedin.com/posts/acme_launch-activity-7260000000000000001-abcd?utm_source=share"
POST = "https://linkedin.com/feed/update/urn:li:activity:7260000000000000001"

Sessions = sessionmaker[Session]


@dataclass
class LinkServer:
    """Answers as each host would: a redirect, a status, or a wait longer than the resolver's."""

    base: str = ""
    redirects: dict[tuple[str, str], str] = field(default_factory=dict)
    statuses: dict[tuple[str, str], int] = field(default_factory=dict)
    slow: set[tuple[str, str]] = field(default_factory=set)
    no_head: set[str] = field(default_factory=set)
    asked: list[tuple[str, str, str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def link_server() -> Iterator[LinkServer]:
    links = LinkServer()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            host = self.headers.get("Host", "")
            links.asked.append((self.command, host, self.path, self.headers.get("User-Agent", "")))
            key = (host, self.path)
            if key in links.slow:
                links.release.wait(5)
            if self.command == "HEAD" and host in links.no_head:
                self.send_response(405)
            elif key in links.redirects:
                self.send_response(301)
                self.send_header("Location", links.redirects[key])
            else:
                self.send_response(links.statuses.get(key, 200))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET = _answer

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    links.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield links
    links.release.set()
    server.shutdown()
    server.server_close()


def _resolver(links: LinkServer, timeout: float = 3.0) -> Resolver:
    return Resolver(make_opener(), routed_to(links.base), timeout=timeout)


def _share(s: Session, team_id: str, url: str, ts: str, user: str, at: datetime) -> Post:
    ensure_channel(s, team_id, CHANNEL, now=at)
    link = parse_post_link(url)
    assert link is not None
    post, _ = record_share(
        s,
        team_id,
        channel_id=CHANNEL,
        message_ts=ts,
        user_id=user,
        link=SharedLink(link.url, link.canonical_url, link.platform),
        shared_at=at,
    )
    return post


def _posts(sessions: Sessions, team_id: str = TEAM) -> list[Post]:
    with sessions.begin() as s:
        posts = list(s.scalars(select(Post).where(Post.team_id == team_id).order_by(Post.id)))
        s.expunge_all()
    return posts


# --- the network alone ---


def test_a_redirect_chain_is_followed_with_head_and_twoways_name(link_server: LinkServer) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = "https://bit.ly/x1"
    link_server.redirects[("bit.ly", "/x1")] = "/x2"
    link_server.redirects[("bit.ly", "/x2")] = LONG
    assert _resolver(link_server).resolve(SHORT) == LONG
    assert [(method, host, path) for method, host, path, _ in link_server.asked] == [
        ("HEAD", "lnkd.in", "/gAbCdEf"),
        ("HEAD", "bit.ly", "/x1"),
        ("HEAD", "bit.ly", "/x2"),
        ("HEAD", "www.linkedin.com", "/posts/acme_launch-activity-7260000000000000001-abcd?utm_source=share"),
    ]
    assert {agent for *_, agent in link_server.asked} == {USER_AGENT}


def test_a_server_refusing_head_is_asked_with_get(link_server: LinkServer) -> None:
    link_server.no_head.add("vm.tiktok.com")
    link_server.redirects[("vm.tiktok.com", "/ZMabc123/")] = (
        "https://www.tiktok.com/@acme/video/7300000000000000000?_r=1"
    )
    resolved = _resolver(link_server).resolve("https://vm.tiktok.com/ZMabc123/")
    assert resolved == "https://www.tiktok.com/@acme/video/7300000000000000000?_r=1"
    assert [method for method, *_ in link_server.asked] == ["HEAD", "GET", "HEAD"]


@pytest.mark.parametrize(
    ("redirects", "reason"),
    [
        ({"/0": "https://t.co/a", "/a": "https://t.co/b", "/b": "https://t.co/a"}, "loop"),
        ({"/0": "javascript:alert(1)"}, "off the web"),
        ({"/0": "file:///etc/passwd"}, "off the web"),
        ({f"/{hop}": f"https://t.co/{hop + 1}" for hop in range(MAX_HOPS + 1)}, "redirects"),
    ],
)
def test_loops_other_schemes_and_too_many_hops_are_unresolved(
    link_server: LinkServer, redirects: dict[str, str], reason: str
) -> None:
    link_server.redirects.update({("t.co", path): to for path, to in redirects.items()})
    with pytest.raises(Unresolved, match=reason):
        _resolver(link_server).resolve("https://t.co/0")
    assert len(link_server.asked) <= MAX_HOPS + 1


def test_exactly_max_hops_is_still_followed(link_server: LinkServer) -> None:
    link_server.redirects.update({("t.co", f"/{hop}"): f"https://t.co/{hop + 1}" for hop in range(MAX_HOPS)})
    assert _resolver(link_server).resolve("https://t.co/0") == f"https://t.co/{MAX_HOPS}"


def test_a_404_and_a_timeout_are_unresolved(link_server: LinkServer) -> None:
    link_server.statuses[("lnkd.in", "/gone")] = 404
    with pytest.raises(Unresolved, match="404"):
        _resolver(link_server).resolve("https://lnkd.in/gone")
    link_server.slow.add(("lnkd.in", "/slow"))
    started = time.monotonic()
    with pytest.raises(Unresolved, match="timed out"):
        _resolver(link_server, timeout=0.3).resolve("https://lnkd.in/slow")
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("attempts", "checked", "is_due"),
    [
        (0, None, True),
        (1, NOW - timedelta(minutes=9), False),
        (1, NOW - timedelta(minutes=10), True),
        (2, NOW - timedelta(minutes=59), False),
        (2, NOW - timedelta(hours=1), True),
        (4, NOW - timedelta(hours=23), False),
        (4, NOW - timedelta(days=1), True),
        (MAX_ATTEMPTS, NOW - timedelta(days=365), False),
    ],
)
def test_retries_back_off_then_stop(attempts: int, checked: datetime | None, is_due: bool) -> None:
    assert due(attempts, checked, NOW) is is_due


# --- the ledger, on both backends ---


def test_a_short_link_post_is_merged_into_the_post_it_leads_to(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = "https://bit.ly/x1"
    link_server.redirects[("bit.ly", "/x1")] = LONG
    with sessions.begin() as s:
        long_post = _share(s, TEAM, LONG, "1.1", ADA, NOW)
        add_snapshot(
            s,
            TEAM,
            long_post.id,
            comments_received=1,
            replies_sent=0,
            shares=0,
            likes=3,
            recorded_at=NOW,
            recorded_by=ADA,
            source="thread",
            source_ref="1.5",
        )
        short_post = _share(s, TEAM, SHORT, "2.1", GRACE, NOW + timedelta(hours=1))
        # The same message shared both: that share must not be doubled.
        record_share(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts="1.1",
            user_id=ADA,
            link=SharedLink(SHORT, short_post.canonical_url, "linkedin"),
            shared_at=NOW,
        )
        # At the very instant of the long post's snapshot, and one from the same summary message.
        add_snapshot(
            s,
            TEAM,
            short_post.id,
            comments_received=4,
            replies_sent=2,
            shares=1,
            likes=9,
            recorded_at=NOW,
            recorded_by=GRACE,
            source="command",
        )
        add_snapshot(
            s,
            TEAM,
            short_post.id,
            comments_received=1,
            replies_sent=0,
            shares=0,
            likes=3,
            recorded_at=NOW + timedelta(minutes=1),
            recorded_by=ADA,
            source="thread",
            source_ref="1.5",
        )
        flag_comment(
            s,
            TEAM,
            post=short_post,
            channel_id=CHANNEL,
            text="When in Europe?",
            author=None,
            flagged_by=GRACE,
            flagged_at=NOW,
            message_ts="2.2",
            thread_ts="2.1",
        )
        # Another workspace's same short link is none of this one's business.
        _share(s, OTHER_TEAM, SHORT, "9.1", ADA, NOW)

    outcome = LinkResolver(sessions, lambda: NOW, _resolver(link_server)).sweep(TEAM)

    assert outcome == Outcome(merged=1)
    [post] = _posts(sessions)
    assert (post.canonical_url, post.owner_user_id) == (POST, ADA)
    with sessions.begin() as s:
        shares = s.execute(
            select(PostShare.message_ts, PostShare.post_id).where(PostShare.team_id == TEAM)
        ).all()
        snapshots = s.execute(
            select(Snapshot.likes, Snapshot.recorded_at, Snapshot.post_id)
            .where(Snapshot.team_id == TEAM)
            .order_by(Snapshot.recorded_at)
        ).all()
        comments = s.execute(select(Comment.text, Comment.post_id).where(Comment.team_id == TEAM)).all()
    assert sorted(shares) == [("1.1", post.id), ("2.1", post.id)]
    assert snapshots == [
        (3, NOW, post.id),
        (9, NOW + timedelta(microseconds=1), post.id),
    ]
    assert comments == [("When in Europe?", post.id)]
    [other] = _posts(sessions, OTHER_TEAM)
    assert other.canonical_url == SHORT


def test_the_first_shared_gives_the_merged_post_its_owner(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = LONG
    with sessions.begin() as s:
        _share(s, TEAM, SHORT, "1.1", GRACE, NOW)
        _share(s, TEAM, LONG, "2.1", ADA, NOW + timedelta(days=1))
    assert LinkResolver(sessions, lambda: NOW, _resolver(link_server)).sweep(TEAM) == Outcome(merged=1)
    [post] = _posts(sessions)
    assert (post.canonical_url, post.owner_user_id, post.message_ts, post.shared_at) == (
        POST,
        GRACE,
        "1.1",
        NOW,
    )


def test_a_short_link_post_takes_the_url_it_leads_to_when_there_is_no_such_post(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("vm.tiktok.com", "/ZMabc123/")] = (
        "https://www.tiktok.com/@acme/video/7300000000000000000?_r=1"
    )
    with sessions.begin() as s:
        _share(s, TEAM, "https://vm.tiktok.com/ZMabc123/", "1.1", ADA, NOW)
    assert LinkResolver(sessions, lambda: NOW, _resolver(link_server)).sweep(TEAM) == Outcome(rewritten=1)
    [post] = _posts(sessions)
    assert (post.canonical_url, post.platform, post.owner_user_id) == (
        "https://tiktok.com/@/video/7300000000000000000",
        "tiktok",
        ADA,
    )
    # Resolved for good: the next sweep asks nothing.
    asked = len(link_server.asked)
    assert LinkResolver(sessions, lambda: NOW, _resolver(link_server)).sweep(TEAM) == Outcome()
    assert len(link_server.asked) == asked


@pytest.mark.parametrize("failure", ["404", "loop", "timeout"])
def test_a_link_that_cant_be_resolved_is_kept_and_tried_again_later(
    sessions: Sessions, link_server: LinkServer, failure: str
) -> None:
    key = ("lnkd.in", "/gAbCdEf")
    if failure == "404":
        link_server.statuses[key] = 404
    elif failure == "loop":
        link_server.redirects[key] = SHORT
    else:
        link_server.slow.add(key)
    with sessions.begin() as s:
        _share(s, TEAM, SHORT, "1.1", ADA, NOW)
    now = [NOW]
    resolver = LinkResolver(sessions, lambda: now[0], _resolver(link_server, timeout=0.3))

    assert resolver.sweep(TEAM) == Outcome(failed=1)
    [post] = _posts(sessions)
    assert (post.canonical_url, post.link_attempts, post.link_checked_at) == (SHORT, 1, NOW)
    assert resolver.sweep(TEAM) == Outcome(), "not again before its backoff"

    # The server is fixed; ten minutes on, the link is tried again and resolved.
    link_server.statuses.pop(key, None)
    link_server.slow.discard(key)
    link_server.redirects[key] = LONG
    now[0] = NOW + timedelta(minutes=10)
    assert resolver.sweep(TEAM) == Outcome(rewritten=1)
    [post] = _posts(sessions)
    assert post.canonical_url == POST


def test_a_link_is_left_alone_after_its_last_try(sessions: Sessions, link_server: LinkServer) -> None:
    link_server.statuses[("lnkd.in", "/gAbCdEf")] = 404
    with sessions.begin() as s:
        _share(s, TEAM, SHORT, "1.1", ADA, NOW)
    now = [NOW]
    resolver = LinkResolver(sessions, lambda: now[0], _resolver(link_server))
    for _ in range(MAX_ATTEMPTS):
        assert resolver.sweep(TEAM) == Outcome(failed=1)
        now[0] += timedelta(days=2)
    assert resolver.sweep(TEAM) == Outcome()
    [post] = _posts(sessions)
    assert (post.canonical_url, post.link_attempts) == (SHORT, MAX_ATTEMPTS)
    assert len(link_server.asked) == MAX_ATTEMPTS


def test_two_replicas_resolving_at_once_neither_double_nor_lose(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = LONG
    link_server.redirects[("lnkd.in", "/other")] = LONG
    with sessions.begin() as s:
        long_post = _share(s, TEAM, LONG, "1.1", ADA, NOW)
        for ts, url in (("2.1", SHORT), ("3.1", "https://lnkd.in/other")):
            short_post = _share(s, TEAM, url, ts, GRACE, NOW + timedelta(hours=1))
            flag_comment(
                s,
                TEAM,
                post=short_post,
                channel_id=CHANNEL,
                text=f"comment under {ts}",
                author=None,
                flagged_by=GRACE,
                flagged_at=NOW,
                message_ts=f"{ts}9",
                thread_ts=ts,
            )
        long_id = long_post.id
    replicas = [LinkResolver(sessions, lambda: NOW, _resolver(link_server)) for _ in range(3)]
    with ThreadPoolExecutor(len(replicas)) as pool:
        outcomes = list(pool.map(lambda replica: replica.sweep(TEAM), replicas))

    assert sum(outcome.merged for outcome in outcomes) == 2
    assert [post.id for post in _posts(sessions)] == [long_id]
    with sessions.begin() as s:
        shares = s.scalars(select(PostShare.message_ts).where(PostShare.team_id == TEAM)).all()
        comments = s.scalars(select(Comment.post_id).where(Comment.team_id == TEAM)).all()
    assert sorted(shares) == ["1.1", "2.1", "3.1"]
    assert comments == [long_id, long_id]


def test_the_scheduler_runs_the_short_links_in_a_job_of_their_own(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = LONG
    with sessions.begin() as s:
        _share(s, TEAM, SHORT, "1.1", ADA, NOW)
        _share(s, OTHER_TEAM, SHORT, "9.1", ADA, NOW)
    with Emulator(EmulatorSettings()) as emu:
        client = slack_client(emu)
        schedules = Schedules(
            sessions,
            make_publisher(sessions, emu, lambda: NOW),
            Nudger(sessions=sessions, client_for=lambda team: client, replica="test:1", clock=lambda: NOW),
            known_teams(sessions),
            scheduler=BackgroundScheduler(timezone=UTC),
            links=LinkResolver(sessions, lambda: NOW, _resolver(link_server)),
        )
        schedules.scheduler.start(paused=True)
        try:
            schedules.run_links()
        finally:
            schedules.shutdown()
    assert [post.canonical_url for post in _posts(sessions)] == [POST]
    assert [post.canonical_url for post in _posts(sessions, OTHER_TEAM)] == [POST]


def test_without_a_resolver_no_link_job_is_scheduled(sessions: Sessions) -> None:
    with Emulator(EmulatorSettings()) as emu:
        client = slack_client(emu)

        def schedules(links: LinkResolver | None) -> Schedules:
            return Schedules(
                sessions,
                make_publisher(sessions, emu, lambda: NOW),
                Nudger(
                    sessions=sessions, client_for=lambda team: client, replica="test:1", clock=lambda: NOW
                ),
                known_teams(sessions),
                scheduler=BackgroundScheduler(timezone=UTC),
                links=links,
            )

        for links, expected in (
            (None, False),
            (LinkResolver(sessions, lambda: NOW, Resolver(make_opener())), True),
        ):
            running = schedules(links)
            running.start()
            try:
                job = running.scheduler.get_job(LINKS_JOB_ID)
                assert (job is not None) is expected
                assert job is None or job.executor == "default"
            finally:
                running.shutdown()


def _old_post(s: Session, canonical: str, ts: str, platform: str, at: datetime = NOW) -> Post:
    """A post as an earlier twoway recorded it, under a canonical URL of its own form."""
    post = Post(
        team_id=TEAM,
        channel_id=CHANNEL,
        canonical_url=canonical,
        url=canonical,
        platform=platform,
        owner_user_id=ADA,
        message_ts=ts,
        shared_at=at,
    )
    s.add(post)
    s.flush()
    s.add(
        PostShare(team_id=TEAM, post_id=post.id, channel_id=CHANNEL, message_ts=ts, user_id=ADA, shared_at=at)
    )
    return post


def test_posts_recorded_under_an_older_form_of_their_link_are_brought_together_once(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        first = _old_post(
            s, "https://linkedin.com/posts/acme_launch-activity-7260000000000000001-abcd", "1.1", "linkedin"
        )
        flag_comment(
            s,
            TEAM,
            post=first,
            channel_id=CHANNEL,
            text="When in Europe?",
            author=None,
            flagged_by=GRACE,
            flagged_at=NOW,
            message_ts="1.2",
            thread_ts="1.1",
        )
        _old_post(s, POST, "2.1", "linkedin", NOW + timedelta(hours=1))
        _old_post(s, "https://instagram.com/reel/C0ffee123", "3.1", "instagram")
        _old_post(s, "https://google.com/url?q=https://blog.acme.example/launch", "4.1", "blog")
        _old_post(s, "https://x.com/acme/status/1", "5.1", "x")
        first_id = first.id
    # Nothing asked of the network: a resolver that can reach nothing.
    links = LinkResolver(sessions, lambda: NOW, Resolver(make_opener(), routed_to("http://127.0.0.1:9")))

    assert links.relink(TEAM) == Outcome(merged=1, rewritten=2)
    posts = _posts(sessions)
    assert [(p.canonical_url, p.platform) for p in posts] == [
        (POST, "linkedin"),
        ("https://instagram.com/p/C0ffee123", "instagram"),
        ("https://blog.acme.example/launch", "blog"),
        ("https://x.com/acme/status/1", "x"),
    ]
    merged = posts[0]
    assert (merged.message_ts, merged.shared_at) == ("1.1", NOW), "the first shared gives its first share"
    with sessions.begin() as s:
        shares = s.scalars(select(PostShare.message_ts).where(PostShare.post_id == merged.id)).all()
        comments = s.scalars(select(Comment.post_id)).all()
    assert first_id not in [p.id for p in posts]
    assert sorted(shares) == ["1.1", "2.1"]
    assert comments == [merged.id]
    assert links.relink(TEAM) == Outcome()


def test_with_resolving_off_no_link_is_asked_but_older_forms_are_still_relinked(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("lnkd.in", "/gAbCdEf")] = LONG
    with sessions.begin() as s:
        _share(s, TEAM, SHORT, "1.1", ADA, NOW)
        _old_post(s, "https://instagram.com/reel/C0ffee123", "3.1", "instagram")
    links = LinkResolver(sessions, lambda: NOW, None)
    links.run(TEAM)
    assert [post.canonical_url for post in _posts(sessions)] == [SHORT, "https://instagram.com/p/C0ffee123"]
    assert link_server.asked == []


# --- a short link that leads to something that isn't the team's ---

DOC = "https://docs.google.com/document/d/1aBcD/edit"


@dataclass
class Reactions:
    """What a client was asked to take off, by (channel, ts, name)."""

    removed: list[tuple[str, str, str]] = field(default_factory=list)

    def reactions_remove(self, *, channel: str, timestamp: str, name: str) -> dict[str, bool]:
        self.removed.append((channel, timestamp, name))
        return {"ok": True}


def test_a_short_link_to_a_doc_leaves_the_ledger_and_its_eyes_come_off(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("bit.ly", "/3docs")] = DOC
    with sessions.begin() as s:
        _share(s, TEAM, "https://bit.ly/3docs", "1.1", ADA, NOW)
    reactions = Reactions()
    resolver = LinkResolver(sessions, lambda: NOW, _resolver(link_server), lambda team: reactions)  # type: ignore[arg-type,return-value]
    assert resolver.sweep(TEAM) == Outcome(dropped=1)
    assert _posts(sessions) == []
    with sessions.begin() as s:
        assert s.scalars(select(PostShare).where(PostShare.team_id == TEAM)).all() == []
    assert reactions.removed == [(CHANNEL, "1.1", "eyes")]


def test_a_short_link_to_a_site_the_channel_named_or_with_numbers_stays(
    sessions: Sessions, link_server: LinkServer
) -> None:
    link_server.redirects[("bit.ly", "/3blog")] = "https://blog.acme.com/launch"
    link_server.redirects[("bit.ly", "/3docs")] = DOC
    with sessions.begin() as s:
        _share(s, TEAM, "https://bit.ly/3blog", "1.1", ADA, NOW)
        with_numbers = _share(s, TEAM, "https://bit.ly/3docs", "2.1", ADA, NOW)
        add_sources(s, TEAM, CHANNEL, "site", ["blog.acme.com"], by=ADA, now=NOW)
        add_snapshot(
            s,
            TEAM,
            with_numbers.id,
            comments_received=4,
            replies_sent=1,
            shares=0,
            likes=3,
            recorded_at=NOW,
            recorded_by=ADA,
            source="thread",
            source_ref="2.5",
        )
    reactions = Reactions()
    resolver = LinkResolver(sessions, lambda: NOW, _resolver(link_server), lambda team: reactions)  # type: ignore[arg-type,return-value]
    assert resolver.sweep(TEAM) == Outcome(rewritten=2)
    assert sorted(p.canonical_url for p in _posts(sessions)) == ["https://blog.acme.com/launch", DOC]
    assert reactions.removed == []
