"""Nudging the owners of comments that wait too long: one message per person per channel per sweep.

Level 1 falls due after the channel's threshold; level 2, a threshold later, asks the channel whether
anyone can take it. Then the comment is the digest's business. Nudges due on a weekend (in the
channel's zone) wait for Monday morning unless the channel nudges on weekends, and a snoozed comment
waits for its snooze to end. A comment someone said "I'm on it" about gets no nudge while the claim
is fresh.

Each sweep gathers the due nudges in batches: level 1 by channel and owner, one message that mentions
the owner once and lists their waiting comments oldest first; level 2 by channel, one message that
asks the channel. A person who takes a weekly direct message instead gets no level-1 nudge (its rows
are ``skipped``) and is not mentioned at level 2. A nudge that falls due within an hour of the
channel's digest slot waits for the digest, which carries it in its "Waiting for you" part (its rows
``folded``, `bot.digest.compose`); if no digest is posted by an hour after the slot, the nudge is sent.

Like digests, a batch's nudges are claimed together in ``nudges``, then posted once with metadata
naming the batch, then recorded as sent with the one ts; a replica that takes over a claim left by a
crash first looks for the batch's message by that metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.claims import claim_is_fresh
from bot.digest.period import next_slot_after, period_ending, slot_at_or_before
from bot.ledger import first_nudge_at
from bot.live import remember
from bot.metrics import format_duration
from bot.posting import (
    HISTORY_METHODS,
    MAX_POST_ATTEMPTS,
    SLACK_FAILURES,
    Pacer,
    describe_failure,
    find_message,
    post_once,
)
from bot.render import Message, context, message, section
from bot.render_ledger import (
    LIST_LIMIT,
    claim_line,
    closing_line,
    comment_buttons,
    format_post_link,
    from_author,
    quoted_comment,
    seen_mark,
    slack_date,
)
from bot.text import mention
from storage.channels import get_channel, team_channels
from storage.comments import open_comments
from storage.digest_runs import get_run
from storage.models import Channel, Comment, Post
from storage.nudge_claims import (
    NUDGES,
    claim_nudges,
    nudges_of,
    record_nudge_failed,
    record_nudge_sent,
    settle_without_sending,
)
from storage.weekly_dms import taking_dm

logger = logging.getLogger(__name__)

NUDGE_EVENT_TYPE = "twoway_nudge"
LEVELS = (1, 2)
# The history search starts this long before the claim it recovers, in case Slack's clock is behind ours.
HISTORY_MARGIN = timedelta(hours=1)
# A nudge due this close to the channel's digest slot, before or after, goes in the digest instead.
FOLD_WINDOW = timedelta(hours=1)
# A nudge row in one of these states needs nothing more from any sweep.
SETTLED = frozenset({"sent", "folded", "skipped"})
UNANSWERED_HINT = "`/twoway unanswered`"

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


def due_times(
    comment_start: datetime, channel: Channel, *, snoozed_until: datetime | None = None
) -> tuple[datetime, datetime]:
    """When levels 1 and 2 fall due, a snooze holding both until it ends (weekends skipped)."""
    hold = _working_time(snoozed_until, channel) if snoozed_until is not None else None
    first, second = nudge_times(comment_start, channel)
    return max(first, hold or first), max(second, hold or second)


def nudges_due(
    comment_start: datetime, channel: Channel, now: datetime, *, snoozed_until: datetime | None = None
) -> list[int]:
    """The levels whose time has come at ``now``: none, [1], or [1, 2].

    A snooze holds every level until it ends, and then (weekends skipped) they are due together;
    the sweep sends only the highest.
    """
    times = due_times(comment_start, channel, snoozed_until=snoozed_until)
    return [level for level, due in zip(LEVELS, times, strict=True) if due <= now]


def fold_slot(due: datetime, channel: Channel) -> datetime | None:
    """The channel's digest slot within `FOLD_WINDOW` of ``due``, before or after it; None when there is
    none or the channel's digest is off."""
    if not channel.digest_enabled:
        return None
    weekday, minute, zone = channel.digest_weekday, channel.digest_minute, channel.timezone
    before = slot_at_or_before(due, weekday=weekday, minute=minute, zone=zone)
    if due - before <= FOLD_WINDOW:
        return before
    after = next_slot_after(due, weekday=weekday, minute=minute, zone=zone)
    return after if after - due <= FOLD_WINDOW else None


def nudge_metadata(team_id: str, channel_id: str, level: int, comment_ids: Sequence[int]) -> dict[str, Any]:
    """Message metadata that names a batch (its level and comments), so that a replica recovering from a
    crash finds it. Slack takes scalar payload values: the ids go as one string."""
    return {
        "event_type": NUDGE_EVENT_TYPE,
        "event_payload": {
            "team_id": team_id,
            "channel_id": channel_id,
            "level": level,
            "comments": ",".join(str(c) for c in comment_ids),
        },
    }


def _batch_of(found: dict[str, Any], team_id: str, channel_id: str, level: int) -> set[int]:
    """The comment ids of a message that is one of the team's nudge batches of this level, else none."""
    metadata = found.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if (
        metadata.get("event_type") != NUDGE_EVENT_TYPE
        or payload.get("team_id") != team_id
        or payload.get("level") != level
    ):
        return set()
    if isinstance(payload.get("comment_id"), int):
        # A nudge of one comment, as twoway posted them before batches (broadcast at level 2).
        return {payload["comment_id"]}
    if payload.get("channel_id") != channel_id:
        return set()
    return {int(c) for c in str(payload.get("comments") or "").split(",") if c.isdigit()}


# ---- what a batch says -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One nudge message: level 1 to ``owner`` about their comments, or level 2 to the channel.

    ``quiet`` names the owners not to mention (they take a weekly direct message instead).
    """

    channel_id: str
    level: int
    owner: str | None
    items: tuple[tuple[Comment, Post], ...]  # oldest first
    quiet: frozenset[str] = frozenset()


def _count(n: int) -> str:
    return f"{n} comment" + ("" if n == 1 else "s")


def _age(comment: Comment, at: datetime) -> timedelta:
    return max(at - (comment.written_at or comment.flagged_at), timedelta(0))


def _item_blocks(
    comment: Comment, post: Post, batch: Batch, at: datetime, names: Mapping[str, str], now: datetime
) -> list[Block]:
    whose = ""
    if batch.level == 2:
        owner = post.owner_user_id
        whose = f" ({mention(owner)}'s post)" if owner not in batch.quiet else ""
    where = f"*#{comment.id}*{from_author(comment, 60)} on {format_post_link(post)}{whose}"
    if comment.state != "open":
        # Who closed it, and how: the buttons are gone.
        return [section(f"{where}\n{closing_line(comment, at)}")]
    on_it = claim_line(comment, names)
    if comment.snoozed_until is not None and comment.snoozed_until > now:
        on_it = "\n".join(
            line for line in (on_it, f"Snoozed: no nudges until {slack_date(comment.snoozed_until)}.") if line
        )
    return [
        section(f"{where} · waited {format_duration(_age(comment, at))}{seen_mark(comment)}"),
        section(quoted_comment(comment, 200) + (f"\n{on_it}" if on_it else "")),
        comment_buttons(comment.id, snooze=True, claimed=comment.claimed_by is not None),
    ]


def render_batch(
    batch: Batch, at: datetime, names: Mapping[str, str] | None = None, now: datetime | None = None
) -> Message:
    """A batched nudge as of ``at``: a headline with how many wait and the oldest's age, then each
    comment oldest first with its buttons (closed ones without), up to `LIST_LIMIT`."""
    waiting = [c for c, _ in batch.items if c.state == "open"]
    oldest = format_duration(max((_age(c, at) for c in waiting), default=timedelta(0)))
    wait = "waits" if len(waiting) == 1 else "wait"
    if batch.level == 1:
        owner = mention(batch.owner or "")
        if waiting:
            text = f"{owner}, {_count(len(waiting))} {wait} for you, oldest {oldest}."
        else:
            text = f"{owner}, nothing here waits for you any more."
    elif waiting:
        these = "this" if len(waiting) == 1 else "these"
        text = f"Can anyone take {these}? {_count(len(waiting))} still {wait}, oldest {oldest}."
    else:
        text = "Nothing here waits any more."
    blocks: list[Block] = [section(text)]
    shown = batch.items[:LIST_LIMIT]
    for comment, post in shown:
        blocks += _item_blocks(comment, post, batch, at, names or {}, now or at)
    if len(batch.items) > len(shown):
        blocks.append(context(f"and {len(batch.items) - len(shown)} more: {UNANSWERED_HINT}"))
    return message(text, blocks)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def batch_recipe(batch: Batch, at: datetime) -> dict[str, Any]:
    """What `redraw_nudge` needs to draw a batch again: its level, owner, comments and moment."""
    return {
        "level": batch.level,
        "channel_id": batch.channel_id,
        "owner": batch.owner,
        "comment_ids": [c.id for c, _ in batch.items],
        "quiet": sorted(batch.quiet),
        "at": _iso(at),
    }


def redraw_nudge(
    s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
) -> Message | None:
    """A batched nudge drawn again from its recipe with its comments' current states (answered and
    dismissed ones shown closed, without buttons); None when the recipe is not a nudge's or none of its
    comments is left. Ages stay as they were when the nudge was posted."""
    try:
        level = int(recipe["level"])
        channel_id = str(recipe["channel_id"])
        owner = recipe.get("owner")
        ids = [int(i) for i in recipe["comment_ids"]]
        quiet = frozenset(str(u) for u in recipe.get("quiet") or ())
        at = datetime.fromisoformat(str(recipe["at"]))
    except (KeyError, TypeError, ValueError):
        return None
    if level not in LEVELS or at.tzinfo is None:
        return None
    found = {c.id: (c, p) for c, p in _comments_with_posts(s, team_id, channel_id, ids)}
    # Oldest first, as the batch was drawn.
    items = tuple(
        sorted(found.values(), key=lambda pair: (pair[0].written_at or pair[0].flagged_at, pair[0].id))
    )
    if not items:
        return None
    batch = Batch(channel_id, level, str(owner) if owner is not None else None, items, quiet)
    return render_batch(batch, at, names, now)


def _comments_with_posts(
    s: Session, team_id: str, channel_id: str, comment_ids: Collection[int]
) -> list[tuple[Comment, Post]]:
    if not comment_ids:
        return []
    query = (
        select(Comment, Post)
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.team_id == team_id,
            Post.team_id == team_id,
            Comment.channel_id == channel_id,
            Comment.id.in_(list(comment_ids)),
        )
    )
    return [(comment, post) for comment, post in s.execute(query)]


# ---- what waits for the digest ---------------------------------------------------------------------


@dataclass(frozen=True)
class Folded:
    """A nudge the channel's digest carries instead: whose it is (None: not to be mentioned) and since
    when its comment waits."""

    comment_id: int
    level: int
    owner: str | None
    since: datetime


def foldable(s: Session, team_id: str, channel: Channel, slot: datetime, now: datetime) -> list[Folded]:
    """The nudges the digest of ``slot`` carries: due within `FOLD_WINDOW` of it, nobody's yet (not
    sent, folded, skipped or held by a sweep), and for nobody on a fresh "I'm on it". None once the
    window is over: then the sweep sends them."""
    if not channel.digest_enabled or now >= slot + FOLD_WINDOW:
        return []
    waiting = open_comments(s, team_id, channel_id=channel.channel_id)
    taken = {(n.comment_id, n.level) for n in nudges_of(s, team_id, [c.id for c, _ in waiting])}
    weekly = taking_dm(s, team_id, sorted({p.owner_user_id for _, p in waiting}))
    found = []
    for comment, post in waiting:
        start = comment.written_at or comment.flagged_at
        times = due_times(start, channel, snoozed_until=comment.snoozed_until)
        levels = [level for level, due in zip(LEVELS, times, strict=True) if due <= slot + FOLD_WINDOW]
        if not levels or claim_is_fresh(comment, channel, now):
            continue
        level = levels[-1]
        due = times[level - 1]
        owner = post.owner_user_id
        if due < slot - FOLD_WINDOW or (comment.id, level) in taken or (level == 1 and owner in weekly):
            continue
        found.append(Folded(comment.id, level, None if owner in weekly else owner, start))
    return found


def fold_into_digest(
    s: Session, team_id: str, folded: Iterable[tuple[int, int]], ts: str, now: datetime
) -> None:
    """Record the nudges a posted digest (``ts``) carried as folded into it."""
    by_level: dict[int, list[int]] = {}
    for comment_id, level in folded:
        by_level.setdefault(level, []).append(comment_id)
    for level, ids in sorted(by_level.items()):
        settle_without_sending(s, team_id, ids, level, state="folded", now=now, message_ts=ts)


# ---- the sweep ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NudgeOutcome:
    """What the sweep did about one comment's nudge; ``ts`` once it is in Slack."""

    comment_id: int
    level: int
    status: NudgeStatus
    ts: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Claimed:
    batch: Batch
    nudge_ids: dict[int, int]  # comment id -> nudge id, all claimed at ``claimed_at``
    claimed_at: datetime
    # Comments whose claim was taken over from a crashed or failed attempt, and since when to look.
    recover: frozenset[int]
    search_from: datetime | None
    in_progress: tuple[int, ...]


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
        """Send every batch of the team's nudges that is due; return what happened to each comment."""
        now = self.clock()
        with self.sessions.begin() as s:
            batches = self._batches(s, team_id, now)
        outcomes = []
        for batch in batches:
            try:
                outcomes += self._nudge(team_id, batch, now)
            except Exception:
                # One batch's trouble (its claims not taken, or not settled) must not cost the others
                # their nudges; a claim left behind is taken over after its lease.
                logger.exception("nudging %s of %s failed", batch.owner or "the channel", team_id)
        return outcomes

    def _batches(self, s: Session, team_id: str, now: datetime) -> list[Batch]:
        channels = {c.channel_id: c for c in team_channels(s, team_id)}
        waiting = open_comments(s, team_id)
        settled = {
            (n.comment_id, n.level)
            for n in nudges_of(s, team_id, [c.id for c, _ in waiting])
            if n.state in SETTLED
        }
        weekly = taking_dm(s, team_id, sorted({p.owner_user_id for _, p in waiting}))
        held: dict[tuple[str, datetime], bool] = {}
        skipped: list[int] = []
        groups: dict[tuple[str, int, str | None], list[tuple[Comment, Post]]] = {}
        for comment, post in waiting:
            channel = channels.get(comment.channel_id)
            # No nudges where twoway can't post: it left the channel, or the channel is archived.
            if channel is None or not channel.active or claim_is_fresh(comment, channel, now):
                continue
            start = comment.written_at or comment.flagged_at
            times = due_times(start, channel, snoozed_until=comment.snoozed_until)
            levels = [level for level, due in zip(LEVELS, times, strict=True) if due <= now]
            # A comment flagged late, or snoozed past both levels, gets the follow-up alone.
            if not levels or (comment.id, levels[-1]) in settled:
                continue
            level = levels[-1]
            owner = post.owner_user_id
            if level == 1 and owner in weekly:
                skipped.append(comment.id)
                continue
            slot = fold_slot(times[level - 1], channel)
            if slot is not None:
                key = (channel.channel_id, slot)
                if key not in held:
                    held[key] = self._waits_for_digest(s, team_id, channel, slot, now)
                if held[key]:
                    continue
            groups.setdefault((channel.channel_id, level, owner if level == 1 else None), []).append(
                (comment, post)
            )
        if skipped:
            settle_without_sending(s, team_id, skipped, 1, state="skipped", now=now)
        return [
            Batch(channel_id, level, owner, tuple(items), frozenset(weekly))
            for (channel_id, level, owner), items in sorted(
                groups.items(), key=lambda g: (g[0][0], g[0][1], g[0][2] or "")
            )
        ]

    def _waits_for_digest(
        self, s: Session, team_id: str, channel: Channel, slot: datetime, now: datetime
    ) -> bool:
        """Whether a nudge due near ``slot`` waits for that digest: until the slot, and then while the
        digest is on its way, up to `FOLD_WINDOW` after it. A digest that failed or never came lets it go."""
        if now < slot:
            return True
        if now >= slot + FOLD_WINDOW:
            return False
        run = get_run(s, team_id, channel.channel_id, period_ending(slot, channel.timezone).start)
        return run is None or run.state == "claimed"

    def _claim(self, team_id: str, batch: Batch, now: datetime) -> _Claimed | None:
        # The claims are dated now, not when the sweep began: a sweep held up by Slack (rate limits,
        # retries) would otherwise make claims that other replicas already see as expired.
        claiming = self.clock()
        with self.sessions.begin() as s:
            ids = [c.id for c, _ in batch.items]
            current = {c.id: c for c, _ in _comments_with_posts(s, team_id, batch.channel_id, ids)}
            # Answered, dismissed, snoozed or taken since the sweep looked: the click wins.
            channel = get_channel(s, team_id, batch.channel_id)
            if channel is None:
                return None
            still = [
                i
                for i in ids
                if (c := current.get(i)) is not None
                and c.state == "open"
                and (c.snoozed_until or now) <= now
                and not claim_is_fresh(c, channel, now)
            ]
            rows = {n.comment_id: n.id for n in claim_nudges(s, team_id, still, batch.level, now=claiming)}
            recover: set[int] = set()
            search_from: datetime | None = None
            in_progress: list[int] = []
            existing = {n.comment_id: n for n in nudges_of(s, team_id, still) if n.level == batch.level}
            for comment_id in still:
                if comment_id in rows:
                    continue
                before = existing.get(comment_id)
                if before is None:
                    continue
                previous = before.claimed_at
                taken = NUDGES.take_over(
                    s,
                    (team_id, before.id),
                    now=claiming,
                    stale_before=claiming - self.lease,
                    max_attempts=MAX_POST_ATTEMPTS,
                )
                if taken is None:
                    s.refresh(before)
                    if before.state == "claimed":
                        in_progress.append(comment_id)
                    continue
                rows[comment_id] = taken.id
                recover.add(comment_id)
                search_from = min(search_from or previous, previous)
        if not rows and not in_progress:
            return None
        kept = tuple((c, p) for c, p in batch.items if c.id in rows)
        return _Claimed(
            batch=Batch(batch.channel_id, batch.level, batch.owner, kept, batch.quiet),
            nudge_ids=rows,
            claimed_at=claiming,
            recover=frozenset(recover),
            search_from=search_from,
            in_progress=tuple(in_progress),
        )

    def _nudge(self, team_id: str, batch: Batch, now: datetime) -> list[NudgeOutcome]:
        claim = self._claim(team_id, batch, now)
        if claim is None:
            return []
        level = batch.level
        outcomes = [NudgeOutcome(c, level, "in_progress") for c in claim.in_progress]
        if not claim.nudge_ids:
            return outcomes
        client = self.client_for(team_id)
        pacer = self.pacer or Pacer(self.sessions)
        pending = dict(claim.nudge_ids)
        batch = claim.batch

        def fail(error: str) -> list[NudgeOutcome]:
            logger.warning(
                "nudge %d of comments %s not sent by %s: %s", level, sorted(pending), self.replica, error
            )
            with self.sessions.begin() as s:
                for nudge_id in pending.values():
                    record_nudge_failed(s, team_id, nudge_id, claimed_at=claim.claimed_at, error=error)
            return [*outcomes, *(NudgeOutcome(c, level, "failed", error=error) for c in sorted(pending))]

        if claim.recover and claim.search_from is not None:
            pacer.wait(team_id, HISTORY_METHODS[0])
            try:
                found = self._find_batches(
                    client, team_id, batch, claim.recover, claim.search_from - HISTORY_MARGIN
                )
            except SLACK_FAILURES as error:
                return fail(f"history: {describe_failure(error)}")
            for found_ts, found_ids in found:
                shown = {c: pending.pop(c) for c in found_ids if c in pending}
                # Its recipe from what its metadata names; it was drawn at the moment of its ts.
                posted_at = datetime.fromtimestamp(float(found_ts), UTC)
                recipe = {**batch_recipe(batch, posted_at), "comment_ids": sorted(found_ids)}
                self._record(team_id, claim, shown, found_ts, recipe=recipe)
                outcomes += [NudgeOutcome(c, level, "found_after_crash", found_ts) for c in sorted(shown)]
            if not pending:
                return outcomes
            batch = Batch(
                batch.channel_id,
                level,
                batch.owner,
                tuple((c, p) for c, p in batch.items if c.id in pending),
                batch.quiet,
            )
        ids = [c.id for c, _ in batch.items]
        metadata = nudge_metadata(team_id, batch.channel_id, level, ids)
        try:
            rendered = render_batch(batch, now)
        except Exception as error:
            # A renderer bug fails these claims like any failed post, so that they are tried again a few
            # times and then left failed, instead of raising out of the sweep on every lease.
            logger.exception("the nudge %d of comments %s could not be rendered", level, ids)
            return fail(f"compose: {error!r}")
        try:
            ts = post_once(
                client,
                pacer,
                team_id,
                search_from=claim.claimed_at - HISTORY_MARGIN,
                metadata=metadata,
                channel=batch.channel_id,
                **rendered,
            )
        except SLACK_FAILURES as error:
            return fail(describe_failure(error))
        self._record(team_id, claim, pending, ts, recipe=batch_recipe(batch, now))
        return [*outcomes, *(NudgeOutcome(c, level, "sent", ts) for c in ids)]

    def _find_batches(
        self, client: WebClient, team_id: str, batch: Batch, recover: Collection[int], oldest: datetime
    ) -> list[tuple[str, set[int]]]:
        """The batches in the channel that show comments of ``recover``: each one's ts and every comment
        it names."""
        found: list[tuple[str, set[int]]] = []
        left = set(recover)

        def matches(candidate: dict[str, Any]) -> bool:
            named = _batch_of(candidate, team_id, batch.channel_id, batch.level)
            if named & left:
                found.append((str(candidate["ts"]), named))
                left.difference_update(named)
            # Keep reading until every comment to recover is accounted for.
            return not left

        find_message(client, batch.channel_id, oldest=oldest, matches=matches)
        return found

    def _record(
        self, team_id: str, claim: _Claimed, nudge_ids: dict[int, int], ts: str, *, recipe: dict[str, Any]
    ) -> None:
        now = self.clock()
        with self.sessions.begin() as s:
            lost = [
                c
                for c, nudge_id in nudge_ids.items()
                if not record_nudge_sent(
                    s, team_id, nudge_id, claimed_at=claim.claimed_at, message_ts=ts, now=now
                )
            ]
            remember(
                s,
                team_id,
                channel_id=claim.batch.channel_id,
                ts=ts,
                kind="nudge",
                recipe=recipe,
                comment_ids=recipe["comment_ids"],
                now=now,
            )
        if lost:
            logger.warning("nudge %s of comments %s was sent after its claim was taken over", ts, lost)
