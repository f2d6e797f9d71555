"""Composing one channel's digest for one period: what the ledger says, built and rendered.

Reads only the last eight periods' posts and the comments open during them, never the whole history.
The chart is left undrawn (see `bot.digest.chart`): the caller draws it after closing its session,
if at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.digest.blocks import render_digest
from bot.digest.build import (
    DigestInput,
    FoldedNudge,
    LostDigest,
    LostNudge,
    Undelivered,
    WaitingComment,
    build_digest,
)
from bot.digest.chart import CHART_PERIODS, ChartData, HistoryPoint
from bot.digest.period import CATCH_UP_WINDOW, Period, periods_ending_with
from bot.ledger import comment_fact, post_facts
from bot.metrics import PostFact, reply_rate
from bot.nudges import foldable
from bot.posting import MAX_POST_ATTEMPTS
from storage.channels import get_channel
from storage.comments import comments_for_report
from storage.digest_runs import last_posted_run, lost_runs, missed_previous
from storage.models import Comment
from storage.nudge_claims import failed_nudges
from storage.posts import posts_shared_between, recent_posts_of


@dataclass(frozen=True)
class ComposedDigest:
    """A digest ready to post: the message and, when it has one, its chart still to be drawn."""

    message: dict[str, Any]
    chart: ChartData | None
    # The nudges (comment id, level) the digest carries, to record as folded into it once it is posted.
    folded: tuple[tuple[int, int], ...] = ()


def _in(period: Period, facts: list[PostFact]) -> list[PostFact]:
    return [f for f in facts if period.start <= f.shared_at < period.end]


def _open_at(moment: datetime, comments: list[Comment]) -> int:
    def closed_at(c: Comment) -> datetime | None:
        return c.answered_at or c.dismissed_at

    return sum(
        1 for c in comments if c.flagged_at < moment and ((at := closed_at(c)) is None or at >= moment)
    )


def undelivered_before(
    s: Session, team_id: str, channel_id: str, period: Period, now: datetime
) -> Undelivered:
    """What failed to reach the channel since its last digest posted before ``period``, and still hasn't.

    Digests of earlier periods that failed and that no sweep will retry (out of attempts, or
    over a day late), and nudges about the channel's comments left failed. "Since" is the end of
    the last posted digest's period (ever, when none was posted): that digest was composed after
    it, so what had failed by then was in that digest's own note.
    """
    last = last_posted_run(s, team_id, channel_id, ended_by=period.start)
    since = last.period_end if last is not None else None
    runs = lost_runs(
        s,
        team_id,
        channel_id,
        ended_after=since,
        ended_by=period.start,
        retried_until=now - CATCH_UP_WINDOW,
        max_attempts=MAX_POST_ATTEMPTS,
    )
    nudges = failed_nudges(s, team_id, channel_id, tried_since=since)
    return Undelivered(
        digests=tuple(LostDigest(Period(r.period_start, r.period_end), r.error) for r in runs),
        nudges=tuple(LostNudge(n.comment_id, n.level, n.error, c.state == "open") for n, c in nudges),
    )


def compose_digest(
    s: Session, team_id: str, channel_id: str, period: Period, now: datetime
) -> ComposedDigest:
    """A channel's digest for ``period``: the message as Slack should show it, and its chart's data.

    The chart's eight periods end with ``period``; nothing here draws it.
    """
    channel = get_channel(s, team_id, channel_id)
    zone = channel.timezone if channel is not None else "UTC"
    # The chart shows these periods, the digest's own the last of them.
    periods = periods_ending_with(period, zone, CHART_PERIODS)
    previous = periods[-2]

    window = post_facts(
        s,
        team_id,
        posts_shared_between(s, team_id, start=periods[0].start, end=period.end, channel_id=channel_id),
    )
    posts = _in(period, window)
    owner_history = {
        owner: post_facts(
            s, team_id, recent_posts_of(s, team_id, owner, channel_id=channel_id, before=period.end)
        )
        for owner in sorted({f.owner for f in posts})
    }
    pairs = comments_for_report(s, team_id, since=periods[0].start, channel_id=channel_id)
    waiting = [
        WaitingComment(
            comment_id=c.id,
            text=c.text,
            author=c.author,
            since=c.written_at or c.flagged_at,
            platform=p.platform,
            post_url=p.canonical_url,
            owner=p.owner_user_id,
            url=c.url,
        )
        for c, p in pairs
        if c.state == "open"
    ]
    answered = [
        comment_fact(c, p)
        for c, p in pairs
        if c.state == "answered" and c.answered_at is not None and c.answered_at >= previous.start
    ]
    # The nudges due within the hour of the slot go in the digest rather than beside it.
    folded = foldable(s, team_id, channel, period.end, now) if channel is not None else []
    digest = build_digest(
        DigestInput(
            channel_id=channel_id,
            period=period,
            previous=previous,
            posts=posts,
            previous_posts=_in(previous, window),
            owner_history=owner_history,
            waiting=waiting,
            answered=answered,
            missed_previous=missed_previous(s, team_id, channel_id, period),
            undelivered=undelivered_before(s, team_id, channel_id, period, now),
            folded=tuple(FoldedNudge(f.owner, f.since) for f in folded),
        ),
        now,
    )
    comments = [c for c, _ in pairs]
    history = tuple(
        HistoryPoint(p.end, reply_rate(_in(p, window)), _open_at(p.end, comments)) for p in periods
    )
    return ComposedDigest(
        message=render_digest(digest),
        chart=ChartData(history, zone),
        folded=tuple((f.comment_id, f.level) for f in folded),
    )
