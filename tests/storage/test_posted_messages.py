"""Messages about comments: remembered once per message, marked stale by a change of a comment they
show, in their own workspace only, and forgotten after their life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.models import Comment, Post, PostedMessage, PostedMessageComment
from storage.posted_messages import (
    claim_stale,
    forget_messages_before,
    mark_stale,
    mark_stale_for_posts,
    messages_showing,
    recipe_of,
    remember_message,
    settle_refreshed,
    stale_message_ids,
)

Sessions = sessionmaker[Session]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = "C0SOCIAL01"


def _comments(s: Session, team: str, count: int) -> list[int]:
    ensure_channel(s, team, CHANNEL, now=NOW)
    post = Post(
        team_id=team,
        channel_id=CHANNEL,
        canonical_url="https://x.com/acme/status/1",
        url="https://x.com/acme/status/1",
        platform="x",
        owner_user_id="U0ADA00001",
        shared_at=NOW,
    )
    s.add(post)
    s.flush()
    made = [
        Comment(
            team_id=team,
            post_id=post.id,
            channel_id=CHANNEL,
            text=f"question {n}",
            flagged_by="U0ADA00001",
            flagged_at=NOW,
        )
        for n in range(count)
    ]
    s.add_all(made)
    s.flush()
    return [c.id for c in made]


def test_a_change_marks_only_the_messages_showing_that_comment_in_its_workspace(sessions: Sessions) -> None:
    with sessions.begin() as s:
        first, second = _comments(s, "T1", 2)
        (elsewhere,) = _comments(s, "T2", 1)
        for team, ts, kind, shown in [
            ("T1", "1.1", "notice", [first]),
            ("T1", "1.2", "digest", [first, second]),
            ("T1", "1.3", "nudge", [second]),
            ("T2", "1.2", "digest", [elsewhere]),
        ]:
            remember_message(
                s, team, channel_id=CHANNEL, ts=ts, kind=kind, recipe={"k": kind}, comment_ids=shown, now=NOW
            )
    with sessions.begin() as s:
        assert mark_stale(s, "T1", [first], now=NOW + timedelta(minutes=1)) == 2
        # Already stale: it keeps the moment it first went stale.
        assert mark_stale(s, "T1", [first, second], now=NOW + timedelta(minutes=2)) == 1
    with sessions.begin() as s:
        stale = {
            (m.team_id, m.ts): m.stale_since
            for m in s.scalars(select(PostedMessage).where(PostedMessage.stale_since.is_not(None)))
        }
        assert stale == {
            ("T1", "1.1"): NOW + timedelta(minutes=1),
            ("T1", "1.2"): NOW + timedelta(minutes=1),
            ("T1", "1.3"): NOW + timedelta(minutes=2),
        }
        assert [m.ts for m in messages_showing(s, "T1", first)] == ["1.1", "1.2"]
        assert [m.ts for m in messages_showing(s, "T2", first)] == []


def test_remembering_again_replaces_the_recipe_and_adds_comments(sessions: Sessions) -> None:
    with sessions.begin() as s:
        first, second = _comments(s, "T1", 2)
        for shown, recipe in [([first], {"week": 1}), ([first, second], {"week": 2})]:
            remember_message(
                s,
                "T1",
                channel_id=CHANNEL,
                ts="1.1",
                kind="digest",
                recipe=recipe,
                comment_ids=shown,
                now=NOW,
            )
    with sessions.begin() as s:
        (message,) = s.scalars(select(PostedMessage)).all()
        assert recipe_of(message) == {"week": 2}
        assert sorted(s.scalars(select(PostedMessageComment.comment_id))) == [first, second]


def test_old_messages_are_forgotten_with_their_comment_rows(sessions: Sessions) -> None:
    with sessions.begin() as s:
        (comment,) = _comments(s, "T1", 1)
        for ts, posted in [("1.1", NOW - timedelta(days=31)), ("1.2", NOW)]:
            remember_message(
                s,
                "T1",
                channel_id=CHANNEL,
                ts=ts,
                kind="notice",
                recipe={},
                comment_ids=[comment],
                now=posted,
            )
    with sessions.begin() as s:
        assert forget_messages_before(s, NOW - timedelta(days=30)) == 1
    with sessions.begin() as s:
        assert [m.ts for m in messages_showing(s, "T1", comment)] == ["1.2"]
        assert s.scalars(select(PostedMessageComment.message_id)).all() == [
            s.scalars(select(PostedMessage.id)).one()
        ]


def test_one_replica_claims_a_stale_message_and_a_change_meanwhile_keeps_it_stale(sessions: Sessions) -> None:
    with sessions.begin() as s:
        (comment,) = _comments(s, "T1", 1)
        message_id = remember_message(
            s, "T1", channel_id=CHANNEL, ts="1.1", kind="notice", recipe={}, comment_ids=[comment], now=NOW
        ).id
        mark_stale(s, "T1", [comment], now=NOW)
    lease = timedelta(minutes=2)

    def claim(s: Session, team: str, replica: str) -> PostedMessage | None:
        return claim_stale(
            s,
            team,
            message_id,
            replica=replica,
            now=NOW,
            stale_before=NOW - lease,
            posted_since=NOW - timedelta(days=30),
            max_attempts=5,
        )

    with sessions.begin() as s:
        assert stale_message_ids(s, stale_before=NOW - lease, posted_since=NOW, max_attempts=5, limit=10) == [
            ("T1", message_id)
        ]
        held = claim(s, "T1", "a")
        assert held is not None
        assert claim(s, "T1", "b") is None, "held by a"
        assert claim(s, "T2", "b") is None, "another workspace's"
    with sessions.begin() as s:
        # Answered while replica a draws the message.
        assert mark_stale(s, "T1", [comment], now=NOW + timedelta(seconds=1)) == 1
        assert settle_refreshed(
            s, "T1", message_id, replica="a", claimed_at=NOW, drawn_stale_since=NOW, now=NOW
        )
        row = s.get(PostedMessage, message_id)
        assert row is not None
        assert (row.stale_since, row.claimed_by) == (NOW + timedelta(seconds=1), None)
        again = claim(s, "T1", "b")
        assert again is not None
        assert settle_refreshed(
            s,
            "T1",
            message_id,
            replica="b",
            claimed_at=NOW,
            drawn_stale_since=NOW + timedelta(seconds=1),
            now=NOW,
        )
        assert not settle_refreshed(
            s, "T1", message_id, replica="a", claimed_at=NOW, drawn_stale_since=NOW, now=NOW
        ), "a claim settled once is settled"
        s.refresh(row)
        assert (row.stale_since, row.refreshed_at, row.attempts) == (None, NOW, 0)


def test_a_withdrawn_post_marks_the_messages_about_its_comments(sessions: Sessions) -> None:
    with sessions.begin() as s:
        first, second = _comments(s, "T1", 2)
        remember_message(
            s, "T1", channel_id=CHANNEL, ts="1.1", kind="digest", recipe={}, comment_ids=[first], now=NOW
        )
        found = s.get(Comment, second)
        assert found is not None
        post_id = found.post_id
        assert mark_stale_for_posts(s, "T2", [post_id], now=NOW) == 0
        assert mark_stale_for_posts(s, "T1", [post_id], now=NOW) == 1
