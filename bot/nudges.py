"""Nudging the owner of a comment that waits too long, each nudge sent once.

Level 1 goes in the comment's thread after the channel's threshold and mentions the post's
owner; level 2, a threshold later, is broadcast to the channel and asks whether anyone can take
it. Then the comment is the digest's business. Nudges due on a weekend (in the channel's zone)
wait for Monday morning unless the channel nudges on weekends, and a snoozed comment waits for
its snooze to end. Like digests, a nudge is claimed in ``nudges``, then posted, then recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlalchemy.orm import Session, sessionmaker

from bot import live
from bot.claims import claim_is_fresh
from bot.ledger import first_nudge_at
from bot.metrics import format_duration
from bot.posting import (
    HISTORY_METHODS,
    MAX_POST_ATTEMPTS,
    SLACK_FAILURES,
    Pacer,
    describe_failure,
    find_message,
    has_metadata,
    post_once,
)
from bot.render import Message, context, message, section
from bot.render_ledger import (
    closing_line,
    comment_buttons,
    format_post_link,
    from_author,
    quoted_comment,
    slack_date,
)
from bot.text import mention
from storage.channels import team_channels
from storage.comments import get_comment, open_comments
from storage.models import Channel, Comment, Post
from storage.nudge_claims import (
    claim_nudge,
    nudges_of,
    record_nudge_failed,
    record_nudge_sent,
    skip_nudge,
    take_over_nudge,
)
from storage.posts import get_post
from storage.weekly_dms import taking_dm

logger = logging.getLogger(__name__)

NUDGE_EVENT_TYPE = "twoway_nudge"
LEVELS = (1, 2)
# The history search starts this long before the comment was flagged, in case Slack's clock is behind ours.
HISTORY_MARGIN = timedelta(hours=1)

NudgeStatus = Literal["sent", "found_after_crash", "in_progress", "failed"]


def _working_time(moment: datetime, channel: Channel) -> datetime:
    # first_nudge_at is "a threshold later, weekends skipped"; a threshold earlier leaves the skip alone.
    return first_nudge_at(moment - timedelta(hours=channel.unanswered_threshold_hours), channel)


def nudge_times(comment_start: datetime, channel: Channel) -> tuple[datetime, datetime]:
    """When levels 1 and 2 fall due: one threshold after the start, and one threshold after level 1.

    On weekdays that is the threshold and twice it; level 2 waits a full threshold after a
    level 1 that the weekend pushed to Monday, so that the owner has a working day to answer.
    """
    first = first_nudge_at(comment_start, channel)
    return first, first_nudge_at(first, channel)


def nudges_due(
    comment_start: datetime, channel: Channel, now: datetime, *, snoozed_until: datetime | None = None
) -> list[int]:
    """The levels whose time has come at ``now``: none, [1], or [1, 2].

    A snooze holds every level until it ends, and then (weekends skipped) they are due together;
    the sweep sends only the highest.
    """
    hold = _working_time(snoozed_until, channel) if snoozed_until is not None else None
    return [
        level
        for level, due in zip(LEVELS, nudge_times(comment_start, channel), strict=True)
        if max(due, hold or due) <= now
    ]


def nudge_metadata(team_id: str, comment_id: int, level: int) -> dict[str, Any]:
    """Message metadata that identifies a nudge, so that a replica recovering from a crash finds it."""
    return {
        "event_type": NUDGE_EVENT_TYPE,
        "event_payload": {"team_id": team_id, "comment_id": comment_id, "level": level},
    }


def render_nudge(comment: Comment, post: Post, level: int, now: datetime) -> Message:
    """The nudge: the owner mentioned, the comment quoted, and its buttons; level 2 asks the channel."""
    owner = mention(post.owner_user_id)
    age = format_duration(max(now - (comment.written_at or comment.flagged_at), timedelta(0)))
    author = from_author(comment)
    if level == 1:
        headline = (
            f"{owner}, comment #{comment.id}{author} on {format_post_link(post)} "
            f"has waited {age} for an answer."
        )
        text = f"{owner}, comment #{comment.id} has waited {age} for an answer."
    else:
        headline = (
            f"Comment #{comment.id}{author} on {format_post_link(post)} is still waiting after {age}. "
            f"{owner} may be busy: can anyone take this?"
        )
        text = f"Comment #{comment.id} is still waiting after {age}. Can anyone take this? ({owner})"
    blocks: list[Block] = [section(headline), section(quoted_comment(comment))]
    if comment.snoozed_until is not None and comment.snoozed_until > now:
        # Drawn again after someone snoozed it.
        blocks.append(context(f"Snoozed: no nudges until {slack_date(comment.snoozed_until)}."))
    return message(text, [*blocks, comment_buttons(comment.id, snooze=True)])


def redraw_nudge(
    s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
) -> Message | None:
    """A nudge drawn again from its recipe (``{"level": L, "comments": [id]}``) as its comment is now:
    waiting, with its buttons (and its snooze, if any); answered or dismissed, who closed it and no
    buttons; gone (its flag taken back), that it is no longer tracked. None for a recipe it can't read."""
    level, ids = recipe.get("level"), recipe.get("comments")
    if level not in LEVELS or not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], int):
        return None
    found = get_comment(s, team_id, ids[0])
    if found is None:
        line = f"Comment #{ids[0]} is no longer tracked: its flag was taken back."
        return message(line, [section(line)])
    post = get_post(s, team_id, found.post_id)
    if post is None:
        return None
    if found.state != "open":
        return render_nudge_closed(found, post, now)
    return render_nudge(found, post, level, now)


def render_nudge_closed(comment: Comment, post: Post, now: datetime) -> Message:
    """A nudge whose comment is answered or dismissed: who closed it, the comment, and no buttons."""
    line = closing_line(comment, now)
    return message(line, [section(f"{line} ({format_post_link(post)})"), section(quoted_comment(comment))])


@dataclass(frozen=True)
class NudgeOutcome:
    """What the sweep did about one comment's nudge; ``ts`` once it is in Slack."""

    comment_id: int
    level: int
    status: NudgeStatus
    ts: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Due:
    comment: Comment
    post: Post
    level: int


@dataclass(frozen=True)
class Nudger:
    """Sends due nudges under claims in ``nudges``; safe to run from any thread or replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    replica: str
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(minutes=5)
    # The pace of Slack calls shared by every replica; None for Slack's own limits, in ``sessions``.
    pacer: Pacer | None = None

    def sweep(self, team_id: str) -> list[NudgeOutcome]:
        """Send every nudge of the team that is due; return what happened to each one acted on."""
        now = self.clock()
        with self.sessions.begin() as s:
            due = self._due(s, team_id, now)
        outcomes = []
        for item in due:
            try:
                outcome = self._nudge(team_id, item, now)
            except Exception:
                # One comment's trouble (its claim not taken, or not settled) must not cost the others
                # their nudges; a claim left behind is taken over after its lease.
                logger.exception("nudging comment %d of %s failed", item.comment.id, team_id)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _due(self, s: Session, team_id: str, now: datetime) -> list[_Due]:
        channels = {c.channel_id: c for c in team_channels(s, team_id)}
        waiting = open_comments(s, team_id)
        done = {
            (n.comment_id, n.level)
            for n in nudges_of(s, team_id, [c.id for c, _ in waiting])
            if n.state in ("sent", "skipped")
        }
        # Whoever takes the weekly direct message gets no level-1 nudge (`bot.weekly`).
        by_dm = taking_dm(s, team_id, {post.owner_user_id for _, post in waiting})
        found = []
        for comment, post in waiting:
            channel = channels.get(comment.channel_id)
            # No nudges where twoway can't post: it left the channel, or the channel is archived.
            if channel is None or not channel.active:
                continue
            if claim_is_fresh(comment, channel, now):
                continue
            levels = nudges_due(
                comment.written_at or comment.flagged_at, channel, now, snoozed_until=comment.snoozed_until
            )
            # A comment flagged late, or snoozed past both levels, gets the follow-up alone.
            if levels and (comment.id, levels[-1]) not in done:
                if levels[-1] == 1 and post.owner_user_id in by_dm:
                    skip_nudge(s, team_id, comment.id, 1, now=now)
                    continue
                found.append(_Due(comment, post, levels[-1]))
        return found

    def _nudge(self, team_id: str, item: _Due, now: datetime) -> NudgeOutcome | None:
        comment, level = item.comment, item.level
        # The claim is dated now, not when the sweep began: a sweep held up by Slack (rate limits,
        # retries) would otherwise make claims that other replicas already see as expired.
        claiming = self.clock()
        with self.sessions.begin() as s:
            # Answered, dismissed or snoozed since the sweep looked: the click wins.
            current = get_comment(s, team_id, comment.id)
            if current is None or current.state != "open" or (current.snoozed_until or now) > now:
                return None
            claim = claim_nudge(s, team_id, comment.id, level, now=claiming)
            search_first = False
            if claim is None:
                existing = next(n for n in nudges_of(s, team_id, [comment.id]) if n.level == level)
                claim = take_over_nudge(
                    s,
                    team_id,
                    existing.id,
                    now=claiming,
                    stale_before=claiming - self.lease,
                    max_attempts=MAX_POST_ATTEMPTS,
                )
                if claim is None:
                    s.refresh(existing)
                    if existing.state == "claimed":
                        return NudgeOutcome(comment.id, level, "in_progress")
                    return None
                search_first = True
            nudge_id, claimed_at = claim.id, claim.claimed_at
        client = self.client_for(team_id)
        metadata = nudge_metadata(team_id, comment.id, level)

        def fail(error: str) -> NudgeOutcome:
            logger.warning(
                "nudge %d of comment %d not sent by %s: %s", level, comment.id, self.replica, error
            )
            with self.sessions.begin() as s:
                record_nudge_failed(s, team_id, nudge_id, claimed_at=claimed_at, error=error)
            return NudgeOutcome(comment.id, level, "failed", error=error)

        def record(ts: str) -> None:
            with self.sessions.begin() as s:
                kept = record_nudge_sent(
                    s, team_id, nudge_id, claimed_at=claimed_at, message_ts=ts, now=self.clock()
                )
                if kept:
                    live.remember(
                        s,
                        team_id,
                        channel_id=comment.channel_id,
                        ts=ts,
                        kind="nudge",
                        recipe={"level": level, "comments": [comment.id]},
                        comment_ids=[comment.id],
                        now=self.clock(),
                    )
            if not kept:
                logger.warning(
                    "nudge %s of comment %d was sent after its claim was taken over", ts, comment.id
                )

        pacer = self.pacer or Pacer(self.sessions)
        if search_first:
            pacer.wait(team_id, HISTORY_METHODS[1] if comment.thread_ts else HISTORY_METHODS[0])
            try:
                found = find_message(
                    client,
                    comment.channel_id,
                    oldest=comment.flagged_at - HISTORY_MARGIN,
                    matches=has_metadata(metadata),
                    thread_ts=comment.thread_ts,
                )
            except SLACK_FAILURES as error:
                return fail(f"history: {describe_failure(error)}")
            if found is not None:
                record(found)
                return NudgeOutcome(comment.id, level, "found_after_crash", found)
        try:
            rendered = render_nudge(comment, item.post, level, now)
        except Exception as error:
            # A renderer bug fails this claim like any failed post, so that it is tried again a few
            # times and then left failed, instead of raising out of the sweep on every lease.
            logger.exception("the nudge %d of comment %d could not be rendered", level, comment.id)
            return fail(f"compose: {error!r}")
        kwargs: dict[str, Any] = {"channel": comment.channel_id, **rendered}
        if comment.thread_ts:
            # The follow-up asks the whole channel, so it shows there too.
            kwargs["reply_broadcast"] = level == 2
        try:
            ts = post_once(
                client,
                pacer,
                team_id,
                search_from=comment.flagged_at - HISTORY_MARGIN,
                metadata=metadata,
                thread_ts=comment.thread_ts,
                **kwargs,
            )
        except SLACK_FAILURES as error:
            return fail(describe_failure(error))
        record(ts)
        return NudgeOutcome(comment.id, level, "sent", ts)
