"""The claim/lease helper as each kind of claim uses it: digest runs, nudges, events and thread notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.comments import NOTICE_PENDING, claim_notice, flag_comment, get_comment, settle_notice
from storage.digest_runs import claim_run, record_run_failed, record_run_posted, take_over_run
from storage.event_claims import claim_event, record_event_failed, take_over_event
from storage.models import Comment, DigestRun
from storage.nudge_claims import claim_nudge, record_nudge_failed, record_nudge_sent, take_over_nudge
from storage.posts import SharedLink, record_share
from tests.support.concurrency import all_at_once

TEAM, CHANNEL = "T1", "C1"
NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
SOON = NOW + timedelta(seconds=5)
LATER = NOW + LEASE + timedelta(seconds=1)

Sessions = sessionmaker[Session]


def _run(s: Session) -> DigestRun:
    ensure_channel(s, TEAM, CHANNEL, now=NOW)
    run = claim_run(
        s, TEAM, CHANNEL, period_start=NOW - timedelta(days=7), period_end=NOW, replica="a", now=NOW
    )
    assert run is not None
    return run


def _comment(s: Session) -> Comment:
    ensure_channel(s, TEAM, CHANNEL, now=NOW)
    link = SharedLink("https://x.com/twoway/status/1", "https://x.com/twoway/status/1", "x")
    post, _ = record_share(
        s, TEAM, channel_id=CHANNEL, message_ts="1.0", user_id="U1", link=link, shared_at=NOW
    )
    comment, _ = flag_comment(
        s, TEAM, post=post, channel_id=CHANNEL, text="when?", author=None, flagged_by="U1", flagged_at=NOW
    )
    return comment


def _take_run(s: Session, run_id: int, now: datetime, replica: str = "b") -> DigestRun | None:
    return take_over_run(s, TEAM, run_id, replica=replica, now=now, stale_before=now - LEASE, max_attempts=5)


def _notice_ts(s: Session, comment_id: int) -> str | None:
    comment = get_comment(s, TEAM, comment_id)
    assert comment is not None
    return comment.notice_ts


def test_a_failed_run_or_nudge_is_taken_over_at_once_a_failed_event_after_the_lease(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        run_id = _run(s).id
        nudge = claim_nudge(s, TEAM, _comment(s).id, 1, now=NOW)
        assert nudge is not None
        nudge_id = nudge.id
        claim_event(s, TEAM, "Ev1", body="{}", replica="a", now=NOW)
    with sessions.begin() as s:
        assert record_run_failed(s, TEAM, run_id, claimed_at=NOW, error="boom")
        assert record_nudge_failed(s, TEAM, nudge_id, claimed_at=NOW, error="boom")
        assert record_event_failed(s, TEAM, "Ev1", claimed_at=NOW, error="boom")
    with sessions.begin() as s:
        fresh = SOON - LEASE
        assert take_over_run(s, TEAM, run_id, replica="b", now=SOON, stale_before=fresh, max_attempts=5)
        assert take_over_nudge(s, TEAM, nudge_id, now=SOON, stale_before=fresh, max_attempts=5)
        assert not take_over_event(s, TEAM, "Ev1", replica="b", now=SOON, stale_before=fresh, max_attempts=5)
        taken = take_over_event(
            s, TEAM, "Ev1", replica="b", now=LATER, stale_before=LATER - LEASE, max_attempts=5
        )
        assert taken is not None
        assert (taken.state, taken.claimed_by, taken.attempts) == ("handling", "b", 2)


def test_a_run_taken_over_is_settled_by_its_taker_only(sessions: Sessions) -> None:
    with sessions.begin() as s:
        run_id = _run(s).id
    with sessions.begin() as s:
        assert _take_run(s, run_id, SOON) is None
        taken = _take_run(s, run_id, LATER)
        assert taken is not None
        assert (taken.state, taken.claimed_by, taken.claimed_at, taken.attempts) == ("claimed", "b", LATER, 2)
    with sessions.begin() as s:
        assert not record_run_posted(s, TEAM, run_id, claimed_at=NOW, message_ts="1.5", now=LATER)
        assert record_run_posted(s, TEAM, run_id, claimed_at=LATER, message_ts="1.5", now=LATER)
        # Posted is settled for good: no lease or failure brings it back.
        assert _take_run(s, run_id, LATER + 9 * LEASE, replica="c") is None


def test_of_concurrent_take_overs_of_a_stale_run_one_wins(sessions: Sessions) -> None:
    with sessions.begin() as s:
        run_id = _run(s).id
    taken = all_at_once(sessions, lambda s: _take_run(s, run_id, LATER))
    assert sum(run is not None for run in taken) == 1


def test_a_nudge_claim_is_told_apart_by_when_it_was_made(sessions: Sessions) -> None:
    with sessions.begin() as s:
        nudge = claim_nudge(s, TEAM, _comment(s).id, 1, now=NOW)
        assert nudge is not None
        nudge_id = nudge.id
    with sessions.begin() as s:
        taken = take_over_nudge(s, TEAM, nudge_id, now=LATER, stale_before=LATER - LEASE, max_attempts=2)
        assert taken is not None
        assert taken.attempts == 2
        assert not record_nudge_sent(s, TEAM, nudge_id, claimed_at=NOW, message_ts="1.5", now=LATER)
        assert record_nudge_failed(s, TEAM, nudge_id, claimed_at=LATER, error="boom")
    with sessions.begin() as s:
        out_of_attempts = take_over_nudge(s, TEAM, nudge_id, now=LATER, stale_before=LATER, max_attempts=2)
        assert out_of_attempts is None


def test_a_notice_is_claimed_once_and_given_back_when_posting_fails(sessions: Sessions) -> None:
    with sessions.begin() as s:
        comment_id = _comment(s).id
    with sessions.begin() as s:
        assert claim_notice(s, TEAM, comment_id)
        assert not claim_notice(s, TEAM, comment_id)
        assert not claim_notice(s, "T2", comment_id), "another team's comment is no claim of this team's"
        assert _notice_ts(s, comment_id) == NOTICE_PENDING
        settle_notice(s, TEAM, comment_id, None)
        assert claim_notice(s, TEAM, comment_id)
        settle_notice(s, TEAM, comment_id, "1.5")
    with sessions.begin() as s:
        assert not claim_notice(s, TEAM, comment_id)
        # Settling what no claim holds changes nothing.
        settle_notice(s, TEAM, comment_id, None)
        assert _notice_ts(s, comment_id) == "1.5"
