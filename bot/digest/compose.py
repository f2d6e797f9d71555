"""Composing one channel's digest for one period: what the ledger says, built and rendered.

Reads only the last eight periods' posts and the comments open during them, never the whole history.
The chart is left undrawn (see `bot.digest.chart`): the caller draws it after closing its session,
if at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.digest.blocks import render_digest
from bot.digest.build import (
    Digest,
    DigestInput,
    FoldedNudge,
    LostDigest,
    LostNudge,
    Undelivered,
    WaitingComment,
    build_digest,
    order_broadcasters,
)
from bot.digest.chart import CHART_PERIODS, ChartData, HistoryPoint
from bot.digest.period import CATCH_UP_WINDOW, Period, periods_ending_with
from bot.ledger import comment_fact, post_facts
from bot.metrics import PostFact, reply_rate
from bot.nudges import foldable
from bot.people import People
from bot.posting import MAX_POST_ATTEMPTS
from bot.slack_calls import attempt
from storage.channels import get_channel
from storage.comments import comments_for_report
from storage.digest_runs import last_posted_run, lost_runs, missed_previous
from storage.models import Comment
from storage.nudge_claims import failed_nudges
from storage.posts import posts_shared_between, recent_posts_of

logger = logging.getLogger(__name__)


class Lookups(Protocol):
    """What only Slack knows and the digest shows: people's names, and links to messages."""

    def names(self, user_ids: Iterable[str]) -> dict[str, str]: ...

    def permalink(self, channel_id: str, ts: str) -> str | None: ...


@dataclass(frozen=True)
class SlackLookups:
    """Names from the workspace's users.list, kept by ``people`` (10 minutes), and permalinks from
    chat.getPermalink (no scope; "hundreds of requests per minute", one per person in the one-way
    section whose oldest waiting comment has no link of its own). Slack failing leaves them out."""

    client: WebClient
    team_id: str
    people: People

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        try:
            return self.people.names(self.client, self.team_id, user_ids)
        except (SlackApiError, OSError) as error:
            # The digest goes out all the same, naming people neutrally.
            logger.warning("users.list failed: %r; the digest names no one", error)
            return {}

    def permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            found = attempt(
                lambda: self.client.chat_getPermalink(channel=channel_id, message_ts=ts), "chat.getPermalink"
            )
        except OSError as error:  # no answer at all: the line goes without its button
            logger.warning("chat.getPermalink failed: %r", error)
            return None
        link = found.get("permalink") if found is not None else None
        return link if isinstance(link, str) and link.startswith("https://") else None


@dataclass(frozen=True)
class ComposedDigest:
    """A digest ready to post: the message and, when it has one, its chart still to be drawn."""

    message: dict[str, Any]
    chart: ChartData | None
    # The waiting comments it lists, whose changes draw it again (`bot.live`).
    comment_ids: tuple[int, ...] = ()
    # What the message says, to be told again with Slack's names and links (`looked_up`).
    digest: Digest | None = None

    def looked_up(self, lookups: Lookups) -> ComposedDigest:
        """The digest with the one-way section's names and links from Slack: called with no session open,
        since each lookup may wait on Slack."""
        if self.digest is None:
            return self
        told = with_lookups(self.digest, lookups)
        return replace(self, message=render_digest(told), digest=told)

    # The nudges (comment id, level) the digest carries, to record as folded into it once it is posted.
    folded: tuple[tuple[int, int], ...] = ()


def with_lookups(digest: Digest, lookups: Lookups) -> Digest:
    """``digest`` with the names of the people its one-way section names, and a link to each one's oldest
    waiting comment where it has none of its own: its flagged message in Slack, else twoway's notice."""
    owners = {b.owner for b in digest.broadcasters} | {owner for owner, _ in digest.unjudged()}
    claimers = {i.comment.claimed_by for i in digest.waiting.items if i.comment.claimed_by}
    names = lookups.names(sorted(owners | claimers))
    broadcasters = []
    for b in digest.broadcasters:
        oldest = b.oldest
        ts = oldest.message_ts or oldest.notice_ts if oldest is not None and not oldest.url else None
        link = lookups.permalink(digest.channel_id, ts) if ts else None
        broadcasters.append(replace(b, oldest_link=link) if link else b)
    waiting = digest.waiting
    if claimers:
        # Whoever is on a waiting comment, named as Slack shows them, without a ping.
        items = tuple(
            replace(
                i,
                comment=replace(i.comment, claimer=names.get(i.comment.claimed_by or "", i.comment.claimer)),
            )
            for i in waiting.items
        )
        waiting = replace(waiting, items=items)
    return replace(digest, broadcasters=order_broadcasters(broadcasters, names), names=names, waiting=waiting)


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
    s: Session,
    team_id: str,
    channel_id: str,
    period: Period,
    now: datetime,
    *,
    shown: Collection[int] | None = None,
    names: Callable[[], Mapping[str, str]] | None = None,
) -> ComposedDigest:
    """A channel's digest for ``period``: the message as Slack should show it, and its chart's data.

    The chart's eight periods end with ``period``; nothing here draws it. A digest drawn again after it
    was posted lists as waiting only those of ``shown`` (the comments it listed) that still wait.
    ``names`` gives the names Slack shows for people, asked only when someone is on a waiting comment.
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
            claimed_by=c.claimed_by,
            claimed_at=c.claimed_at,
            message_ts=c.message_ts,
            notice_ts=c.notice_ts,
            seen_on=c.seen_on if c.flagged_by is None else None,
        )
        for c, p in pairs
        if c.state == "open" and (shown is None or c.id in shown)
    ]
    if names is not None and any(w.claimed_by for w in waiting):
        known = names()
        waiting = [replace(w, claimer=known.get(w.claimed_by or "", "")) for w in waiting]
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
        comment_ids=tuple(w.comment_id for w in waiting),
        digest=digest,
        folded=tuple((f.comment_id, f.level) for f in folded),
    )


def digest_recipe(channel_id: str, period: Period, comment_ids: Collection[int]) -> dict[str, Any]:
    """How a posted digest is drawn again: its channel, its period and the comments it listed."""
    return {
        "channel": channel_id,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "comments": sorted(comment_ids),
    }


def redraw_digest(
    s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
) -> ComposedDigest | None:
    """A posted digest drawn again for its own period from the ledger as it is now: the comments it
    listed that still wait, answered ones gone from "waiting". Its chart, in its thread, stays as it
    was; Slack's names and links are looked up by the caller (`ComposedDigest.looked_up`), with no
    session open. None for a recipe it can't read."""
    try:
        channel_id = str(recipe["channel"])
        period = Period(
            datetime.fromisoformat(recipe["period_start"]), datetime.fromisoformat(recipe["period_end"])
        )
        shown = {int(c) for c in recipe["comments"]}
    except (KeyError, TypeError, ValueError):
        return None
    return compose_digest(s, team_id, channel_id, period, now, shown=shown)
