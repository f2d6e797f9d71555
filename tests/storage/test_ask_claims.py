"""The posts due an ask for their numbers, and the claim that makes each asked once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from storage.ask_claims import claim_ask, posts_due_an_ask, release_ask
from storage.channels import ensure_channel, get_channel
from storage.models import Channel, Post, Snapshot
from storage.posts import SharedLink, record_post, record_share

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WINDOW = {"shared_from": NOW - timedelta(days=7), "shared_by": NOW - timedelta(hours=48)}


def shared(s: Session, team: str, channel: str, n: int, hours_ago: float) -> int:
    ensure_channel(s, team, channel, now=NOW)
    link = SharedLink(f"https://x.com/a/status/{n}", f"https://x.com/a/status/{n}", "x")
    at = NOW - timedelta(hours=hours_ago)
    post, _ = record_share(
        s, team, channel_id=channel, message_ts=f"{n}.000100", user_id="U1", link=link, shared_at=at
    )
    return post.id


def due(sessions: sessionmaker[Session], team: str = "T1") -> list[int]:
    with sessions.begin() as s:
        return [p.id for p in posts_due_an_ask(s, team, **WINDOW)]


def test_due_are_the_teams_standing_unasked_posts_of_the_window_without_numbers_in_active_channels(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        oldest = shared(s, "T1", "C1", 1, 7 * 24 - 1)
        newest = shared(s, "T1", "C1", 2, 48)
        shared(s, "T1", "C1", 3, 47)  # too young
        shared(s, "T1", "C1", 4, 7 * 24 + 1)  # too old
        other = shared(s, "T2", "C9", 5, 50)  # another workspace's
        numbered = shared(s, "T1", "C1", 6, 60)
        s.execute(
            insert(Snapshot).values(
                team_id="T1", post_id=numbered, recorded_at=NOW, source="thread", source_ref="x"
            )
        )
        withdrawn = shared(s, "T1", "C1", 7, 60)
        shared(s, "T1", "C2", 8, 60)
        shared(s, "T1", "C3", 9, 60)
        ensure_channel(s, "T1", "C1", now=NOW)
        link = SharedLink("https://x.com/a/status/10", "https://x.com/a/status/10", "x")
        record_post(s, "T1", channel_id="C1", user_id="U1", link=link, recorded_at=NOW - timedelta(hours=60))
    with sessions.begin() as s:
        post = s.get(Post, withdrawn)
        assert post is not None
        post.withdrawn_at = NOW
        archived, left = get_channel(s, "T1", "C2"), get_channel(s, "T1", "C3")
        assert archived is not None
        assert left is not None
        archived.is_archived = True
        left.bot_is_member = False
    assert due(sessions) == [oldest, newest]
    assert due(sessions, "T2") == [other]


def test_an_ask_is_claimed_once_and_only_its_own_claim_is_given_back(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        post_id = shared(s, "T1", "C1", 1, 50)
    with sessions.begin() as s:
        assert not claim_ask(s, "T2", post_id, now=NOW), "another workspace's post is not this one's"
        assert claim_ask(s, "T1", post_id, now=NOW)
    with sessions.begin() as s:
        assert not claim_ask(s, "T1", post_id, now=NOW + timedelta(seconds=1))
        assert not release_ask(s, "T1", post_id, claimed_at=NOW + timedelta(seconds=1))
    assert due(sessions) == []
    with sessions.begin() as s:
        assert release_ask(s, "T1", post_id, claimed_at=NOW)
    assert due(sessions) == [post_id]
    with sessions.begin() as s:
        s.execute(
            insert(Snapshot).values(
                team_id="T1", post_id=post_id, recorded_at=NOW, source="thread", source_ref="x"
            )
        )
    with sessions.begin() as s:
        assert not claim_ask(s, "T1", post_id, now=NOW), "numbers came meanwhile: nothing to ask"


def test_the_read_walks_each_channels_window_on_the_posts_index(sessions: sessionmaker[Session]) -> None:
    """Its cost is the window's posts in the team's channels, whatever the ledger's size."""
    with sessions.begin() as s:
        shared(s, "T1", "C1", 1, 50)
    statement = (
        select(Post)
        .join(Channel, and_(Channel.team_id == Post.team_id, Channel.channel_id == Post.channel_id))
        .where(Channel.team_id == "T1")
    )
    captured: list[tuple[str, object]] = []
    engine = sessions.kw["bind"]

    def capture(conn: object, cursor: object, text: str, params: object, *rest: object) -> None:
        captured.append((text, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert len(due(sessions)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(text, params)] = [(t, p) for t, p in captured if "FROM posts" in t and "channels" in t]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}", params)
            )
            assert "SCAN posts" not in plan
        else:
            # On a table this small PostgreSQL would rightly scan it; forbid that to see the index serve.
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {text}", params))
    assert "ix_posts_team_id_channel_id_shared_at" in plan
    assert statement is not None
