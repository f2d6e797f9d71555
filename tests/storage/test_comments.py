"""The comments a report reads: every open one and those closed since a date, in a channel or team-wide."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.comments import (
    claim_notice,
    comment_of_notice,
    comment_of_nudge,
    comments_for_report,
    flag_comment,
    settle_notice,
)
from storage.models import Comment, Post
from storage.nudge_claims import claim_nudge, record_nudge_sent

TEAM, OTHER_TEAM = "T0TWOWAY1", "T0OTHER01"
CHANNEL, OTHER_CHANNEL = "C0SOCIAL01", "C0OTHER001"
ADA, GRACE = "U0ADA00001", "U0GRACE001"
SINCE = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

Sessions = sessionmaker[Session]

# Each comment's text names it: its state, when it was answered and dismissed (days from SINCE), and
# whether a report since SINCE includes it. Closed since means answered since, or else dismissed since.
COMMENTS = [
    ("open", "open", None, None, True),
    ("answered after", "answered", 1, None, True),
    ("answered at since", "answered", 0, None, True),
    ("answered before", "answered", -1, None, False),
    ("dismissed after", "dismissed", None, 1, True),
    ("dismissed before", "dismissed", None, -1, False),
    ("answered before, dismissed after", "dismissed", -1, 1, False),
    ("answered after, dismissed before", "answered", 1, -1, True),
    ("closed with no time", "answered", None, None, False),
    ("open, answered before", "open", -1, None, True),
]
INCLUDED = {text for text, *_, included in COMMENTS if included}


def _days(offset: int | None) -> datetime | None:
    return None if offset is None else SINCE + offset * DAY


@pytest.fixture
def ledger(sessions: Sessions) -> Sessions:
    """Every comment of COMMENTS in two channels of TEAM (on Ada's post, then Grace's), and in OTHER_TEAM."""
    with sessions.begin() as s:
        for number, (team, channel, owner) in enumerate(
            [(TEAM, CHANNEL, ADA), (TEAM, OTHER_CHANNEL, GRACE), (OTHER_TEAM, CHANNEL, ADA)]
        ):
            ensure_channel(s, team, channel, now=SINCE - 30 * DAY)
            post = Post(
                team_id=team,
                channel_id=channel,
                canonical_url=f"https://x.com/twoway/status/{number}",
                url=f"https://x.com/twoway/status/{number}",
                platform="x",
                owner_user_id=owner,
                shared_at=SINCE - 10 * DAY,
            )
            s.add(post)
            s.flush()
            for text, state, answered, dismissed, _ in COMMENTS:
                s.add(
                    Comment(
                        team_id=team,
                        post_id=post.id,
                        channel_id=channel,
                        text=text,
                        state=state,
                        flagged_by=owner,
                        flagged_at=SINCE - 5 * DAY,
                        answered_by=owner if answered is not None else None,
                        answered_at=_days(answered),
                        dismissed_by=owner if dismissed is not None else None,
                        dismissed_at=_days(dismissed),
                    )
                )
    return sessions


def _tracked_post(s: Session) -> Post:
    """Ada's post in #social, as a share would have recorded it."""
    ensure_channel(s, TEAM, CHANNEL, now=SINCE)
    post = Post(
        team_id=TEAM,
        channel_id=CHANNEL,
        canonical_url="https://x.com/twoway/status/1",
        url="https://x.com/twoway/status/1",
        platform="x",
        owner_user_id=ADA,
        shared_at=SINCE,
    )
    s.add(post)
    return post


def test_a_channels_report_reads_its_open_comments_and_those_closed_since(ledger: Sessions) -> None:
    with ledger() as s:
        pairs = comments_for_report(s, TEAM, since=SINCE, channel_id=CHANNEL)
    assert sorted(c.text for c, _ in pairs) == sorted(INCLUDED)
    assert {(c.team_id, c.channel_id, p.owner_user_id) for c, p in pairs} == {(TEAM, CHANNEL, ADA)}
    assert [c.id for c, _ in pairs] == sorted(c.id for c, _ in pairs)
    assert all(p.id == c.post_id for c, p in pairs)


def test_a_team_wide_report_reads_every_channel_of_the_team_alike(ledger: Sessions) -> None:
    with ledger() as s:
        pairs = comments_for_report(s, TEAM, since=SINCE)
    assert sorted((c.channel_id, c.text) for c, _ in pairs) == sorted(
        (channel, text) for channel in (CHANNEL, OTHER_CHANNEL) for text in INCLUDED
    )
    assert {c.team_id for c, _ in pairs} == {TEAM}


@pytest.mark.parametrize(("channel", "owner", "found"), [(CHANNEL, ADA, True), (CHANNEL, GRACE, False)])
def test_an_owners_report_in_a_channel_reads_only_their_posts_comments(
    ledger: Sessions, channel: str, owner: str, found: bool
) -> None:
    with ledger() as s:
        pairs = comments_for_report(s, TEAM, since=SINCE, channel_id=channel, owner=owner)
    assert sorted(c.text for c, _ in pairs) == (sorted(INCLUDED) if found else [])


def test_the_same_comment_flagged_by_command_at_once_from_several_replicas_is_one(
    sessions: Sessions,
) -> None:
    """A command names no Slack message: the same words by the same author on the same post are the
    same comment, however many people flag it at the same moment."""
    with sessions.begin() as s:
        post = _tracked_post(s)
    rounds, racers = 10, 4
    for round_ in range(rounds):
        start = threading.Barrier(racers)

        def flag(racer: int, round_: int = round_, start: threading.Barrier = start) -> bool:
            start.wait()
            with sessions.begin() as s:
                _, created = flag_comment(
                    s,
                    TEAM,
                    post=s.merge(post),
                    channel_id=CHANNEL,
                    text=f"Do you ship to Canada? ({round_})",
                    author="@maple",
                    flagged_by=ADA if racer % 2 else GRACE,
                    flagged_at=SINCE,
                )
                return created

        with ThreadPoolExecutor(racers) as pool:
            assert sorted(pool.map(flag, range(racers))) == [False] * (racers - 1) + [True]
    with sessions.begin() as s:
        texts = s.scalars(select(Comment.text).where(Comment.team_id == TEAM)).all()
    assert len(texts) == len(set(texts)) == rounds


def test_twoways_notice_and_nudges_name_their_comment_in_their_channel_and_team_only(
    sessions: Sessions,
) -> None:
    """What a flag on one of twoway's own messages is checked against (bot/flagging.py flag_message)."""
    with sessions.begin() as s:
        post = _tracked_post(s)
        s.flush()
        comment, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text="Refunds?",
            author=None,
            flagged_by=GRACE,
            flagged_at=SINCE,
        )
        assert claim_notice(s, TEAM, comment.id)
        settle_notice(s, TEAM, comment.id, "1700000000.000200")
        for level, ts in ((1, "1700000000.000300"), (2, "1700000000.000400")):
            nudge = claim_nudge(s, TEAM, comment.id, level, now=SINCE)
            assert nudge is not None
            record_nudge_sent(s, TEAM, nudge.id, claimed_at=SINCE, message_ts=ts, now=SINCE)
        comment_id = comment.id
    with sessions.begin() as s:
        for ts in ("1700000000.000200", "1700000000.000300", "1700000000.000400"):
            found = comment_of_notice(s, TEAM, CHANNEL, ts) or comment_of_nudge(s, TEAM, CHANNEL, ts)
            assert found is not None, ts
            assert found.id == comment_id, ts
        assert comment_of_nudge(s, TEAM, CHANNEL, "1700000000.000500") is None
        assert comment_of_nudge(s, TEAM, OTHER_CHANNEL, "1700000000.000300") is None
        assert comment_of_nudge(s, OTHER_TEAM, CHANNEL, "1700000000.000300") is None
