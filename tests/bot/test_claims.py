"""Claims on the ledger: fresh or lapsed, refused over someone else's fresh claim, let go only by the
claimer, handed on, released once however many sweep, and every change marking the messages that show
the comment stale."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.claims import Releaser, claim, claim_is_fresh, reassign, release, render_claim, render_lapsed
from bot.ledger import Reach
from bot.live import remember
from storage.channels import ensure_channel
from storage.models import Channel, Comment, Post, PostedMessage

Sessions = sessionmaker[Session]
TEAM, OTHER_TEAM = "T0TWOWAY1", "T0OTHER01"
CHANNEL, ELSEWHERE = "C0SOCIAL01", "C0PRIVATE1"
ADA, GRACE, LINUS = "U0ADA00001", "U0GRACE001", "U0LINUS001"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HERE = Reach.channel(CHANNEL)


def _channel(hours: int = 24) -> Channel:
    return Channel(team_id=TEAM, channel_id=CHANNEL, claim_hours=hours)


def _comment(by: str | None, at: datetime | None) -> Comment:
    return Comment(id=1, team_id=TEAM, channel_id=CHANNEL, claimed_by=by, claimed_at=at)


@pytest.mark.parametrize(
    ("by", "at", "hours", "now", "fresh"),
    [
        (None, None, 24, NOW, False),
        (GRACE, NOW, 24, NOW, True),
        (GRACE, NOW, 24, NOW + timedelta(hours=23, minutes=59), True),
        (GRACE, NOW, 24, NOW + timedelta(hours=24), False),
        (GRACE, NOW, 48, NOW + timedelta(hours=47), True),
        (GRACE, NOW, 1, NOW + timedelta(hours=1, seconds=1), False),
    ],
)
def test_a_claim_is_fresh_for_the_channels_claim_hours(
    by: str | None, at: datetime | None, hours: int, now: datetime, fresh: bool
) -> None:
    assert claim_is_fresh(_comment(by, at), _channel(hours), now) is fresh


def _ledger(s: Session, team: str = TEAM, channel: str = CHANNEL) -> int:
    ensure_channel(s, team, channel, now=NOW)
    post = Post(
        team_id=team,
        channel_id=channel,
        canonical_url=f"https://x.com/acme/status/{channel}",
        url=f"https://x.com/acme/status/{channel}",
        platform="x",
        owner_user_id=ADA,
        shared_at=NOW,
    )
    s.add(post)
    s.flush()
    comment = Comment(
        team_id=team, post_id=post.id, channel_id=channel, text="Size chart?", flagged_by=ADA, flagged_at=NOW
    )
    s.add(comment)
    s.flush()
    remember(
        s, team, channel_id=channel, ts="1.1", kind="notice", recipe={}, comment_ids=[comment.id], now=NOW
    )
    return comment.id


def _stale(s: Session) -> list[datetime | None]:
    return list(s.scalars(select(PostedMessage.stale_since).where(PostedMessage.team_id == TEAM)))


def _get(sessions: Sessions, comment_id: int) -> Comment:
    with sessions.begin() as s:
        comment = s.get(Comment, comment_id)
        assert comment is not None
        s.expunge(comment)
        return comment


def test_a_claim_marks_the_notice_stale_and_a_fresh_one_is_never_overwritten(sessions: Sessions) -> None:
    with sessions.begin() as s:
        comment_id = _ledger(s)
    with sessions.begin() as s:
        result = claim(s, TEAM, HERE, comment_id, by=GRACE, now=NOW)
        assert result is not None
        assert result.outcome == "claimed"
        assert result.until == NOW + timedelta(hours=24)
        assert _stale(s) == [NOW]
    later = NOW + timedelta(hours=23)
    with sessions.begin() as s:
        refused = claim(s, TEAM, HERE, comment_id, by=LINUS, now=later)
        assert refused is not None
        assert refused.outcome == "taken"
        again = claim(s, TEAM, HERE, comment_id, by=GRACE, now=later)
        assert again is not None
        assert again.outcome == "yours"
    assert (_get(sessions, comment_id).claimed_by, _get(sessions, comment_id).claimed_at) == (GRACE, NOW)
    text = render_claim(refused, {GRACE: "Grace"})["text"]
    assert text.startswith(f"Grace is already on #{comment_id} since <!date^{int(NOW.timestamp())}^")

    # Once it has lapsed, anyone may take it.
    with sessions.begin() as s:
        taken = claim(s, TEAM, HERE, comment_id, by=LINUS, now=NOW + timedelta(hours=24))
        assert taken is not None
        assert taken.outcome == "claimed"
    assert _get(sessions, comment_id).claimed_by == LINUS


def test_a_comment_is_out_of_reach_in_another_channel_or_workspace_and_closed_ones_cant_be_claimed(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        comment_id = _ledger(s)
        private_id = _ledger(s, channel=ELSEWHERE)
    with sessions.begin() as s:
        assert claim(s, TEAM, HERE, private_id, by=GRACE, now=NOW) is None
        assert claim(s, OTHER_TEAM, HERE, comment_id, by=GRACE, now=NOW) is None
        found = s.get(Comment, comment_id)
        assert found is not None
        found.state = "answered"
    with sessions.begin() as s:
        closed = claim(s, TEAM, HERE, comment_id, by=GRACE, now=NOW)
        assert closed is not None
        assert closed.outcome == "closed"
    assert _get(sessions, comment_id).claimed_by is None
    assert _get(sessions, private_id).claimed_by is None


def test_only_the_claimer_lets_go_and_anyone_hands_it_on(sessions: Sessions) -> None:
    with sessions.begin() as s:
        comment_id = _ledger(s)
        claim(s, TEAM, HERE, comment_id, by=GRACE, now=NOW)
    with sessions.begin() as s:
        refused = release(s, TEAM, HERE, comment_id, by=LINUS, now=NOW)
        assert refused is not None
        assert refused.outcome == "not_yours"
    assert _get(sessions, comment_id).claimed_by == GRACE
    later = NOW + timedelta(hours=1)
    with sessions.begin() as s:
        asked = reassign(s, TEAM, HERE, comment_id, to=LINUS, by=ADA, now=later)
        assert asked is not None
        assert asked.outcome == "asked"
        assert _stale(s) == [NOW]  # stale since the first change, until the refresher draws it
    handed = _get(sessions, comment_id)
    assert (handed.claimed_by, handed.claim_assigned_by, handed.claimed_at) == (LINUS, ADA, later)
    with sessions.begin() as s:
        let_go = release(s, TEAM, HERE, comment_id, by=LINUS, now=later)
        assert let_go is not None
        assert let_go.outcome == "released"
        nobody = release(s, TEAM, HERE, comment_id, by=LINUS, now=later)
        assert nobody is not None
        assert nobody.outcome == "nobody"
    released = _get(sessions, comment_id)
    assert (released.claimed_by, released.claimed_at, released.claim_assigned_by) == (None, None, None)


class _Slack:
    """The one call the releaser makes, recorded."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.posted.append(kwargs)
        return {"ok": True, "ts": "2.2"}


def test_a_lapsed_claim_is_released_once_with_one_line_however_many_replicas_sweep(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        comment_id = _ledger(s)
        fresh_id = _ledger(s, channel=ELSEWHERE)
        claim(s, TEAM, HERE, comment_id, by=GRACE, now=NOW)
        claim(s, TEAM, Reach.channel(ELSEWHERE), fresh_id, by=LINUS, now=NOW + timedelta(hours=2))
    slack = _Slack()
    at = NOW + timedelta(hours=24, minutes=30)
    replicas = [Releaser(sessions, lambda _: slack, lambda: at) for _ in range(4)]  # type: ignore[arg-type, return-value]
    start = threading.Barrier(len(replicas))
    done: list[object] = []

    def sweep(releaser: Releaser) -> None:
        start.wait()
        done.extend(releaser.sweep(TEAM))

    threads = [threading.Thread(target=sweep, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 1
    assert [p["channel"] for p in slack.posted] == [GRACE]
    assert _get(sessions, comment_id).claimed_by is None
    assert _get(sessions, fresh_id).claimed_by == LINUS


def test_the_lapsed_line_says_how_long_the_claim_held() -> None:
    post = Post(canonical_url="https://x.com/acme/status/1", platform="x")
    assert render_lapsed(2, post, timedelta(hours=36))["text"] == (
        "Your claim on comment #2 (on <https://x.com/acme/status/1|X post>) lapsed after 36 hours; "
        "it is open to anyone again."
    )
