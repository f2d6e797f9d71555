"""A person's weekly direct message, instead of channel nudges: their waiting comments, their posts'
numbers this week and their own reply rate, shown to them alone, every Monday at 09:00 in their zone.

The setting is theirs (the Home tab's button, `/twoway dm on|off`); their zone is the one Slack gives
for them (`users.info` `tz`), read when they turn it on and again once it is a week old. A zone Slack
doesn't give, or that isn't an IANA zone twoway knows, falls back to the zone of the channel of their
latest post, or UTC, and the message says so.

Like a digest, each week's message is claimed in ``weekly_dms`` by one replica, then sent, then
recorded; a claim left by a crash is taken over after the lease, and its taker first looks for the
message in the conversation (by its metadata) and records it rather than send it twice. Once it is in
Slack it is remembered (`bot.live`), so that it can be drawn again as its comments change
(`redraw_weekly_dm`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, DividerBlock
from sqlalchemy.orm import Session, sessionmaker

from bot import ledger
from bot.digest.period import CATCH_UP_WINDOW
from bot.live import remember
from bot.metrics import Rate, reply_rate
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
from bot.render import Message, context, header, message, section
from bot.render_ledger import (
    LIST_LIMIT,
    POSTS_BUDGET,
    answered_how,
    comment_buttons,
    comment_section,
    format_post_link,
    own_rate_line,
    slack_date,
)
from bot.render_numbers import numbers_from
from bot.slack_calls import channels_of, slack_error
from bot.text import channel_mention, listing
from bot.zones import is_zone, zone
from storage.channels import get_channel
from storage.comments import count_open_comments, get_comment
from storage.models import Comment, Person, Post, Snapshot
from storage.person_zones import ZONE_KEPT, remember_zone
from storage.posts import get_post, posts_shared_between
from storage.snapshots import latest_snapshot
from storage.weekly_dms import (
    claim_weekly_dm,
    get_person,
    get_weekly_dm,
    people_taking_dm,
    record_weekly_dm_failed,
    record_weekly_dm_sent,
    set_weekly_dm,
    take_over_weekly_dm,
)

logger = logging.getLogger(__name__)

DM_EVENT_TYPE = "twoway_weekly_dm"
SEND_AT = time(9, 0)
RATE_WINDOW = timedelta(days=28)
POSTS_WINDOW = timedelta(days=7)
# Slack takes 50 blocks in a message (docs.slack.dev/reference/block-kit/blocks). Besides two blocks a
# comment, the message has 8: its header and first line, "and N more", a divider, the posts' header
# and list, the reply rate and the closing line.
MESSAGE_BLOCKS = 50
FIXED_BLOCKS = 8
MAX_LISTED = (MESSAGE_BLOCKS - FIXED_BLOCKS) // 2
# The history search starts this long before the message was due, in case Slack's clock is behind ours.
HISTORY_MARGIN = timedelta(hours=1)

DmStatus = Literal["sent", "already_sent", "found_after_crash", "in_progress", "failed"]


@dataclass(frozen=True)
class Week:
    """A person's week: ``start``, the key of its ``weekly_dms`` row (the Monday's date, at 00:00 UTC,
    the same whatever their zone becomes), and ``due``, Monday 09:00 in their zone."""

    start: datetime
    due: datetime


def week_of(zone_name: str, now: datetime) -> Week:
    """The week ``now`` falls in, in the zone ``zone_name`` (Monday to Sunday)."""
    tz = zone(zone_name)
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday, SEND_AT, tzinfo=tz).astimezone(UTC)
    return Week(start=datetime.combine(monday, time(), tzinfo=UTC), due=due)


@dataclass(frozen=True)
class PersonZone:
    """The zone a person's message keeps: their own (``own``), or, when Slack gave none twoway knows, the
    zone of ``channel_id`` (their latest post's channel) or UTC."""

    name: str
    own: bool = True
    channel_id: str | None = None

    def note(self) -> str:
        """How the message says when it comes, and why in that zone."""
        if self.own:
            return f"It comes every Monday at 09:00 in your time zone ({self.name})."
        whose = f"{channel_mention(self.channel_id)}'s time zone" if self.channel_id else "UTC"
        return (
            f"Slack didn't give twoway your time zone, so it comes every Monday at 09:00 in {whose} "
            f"({self.name})."
        )


def zone_of(s: Session, team_id: str, person: Person, now: datetime) -> PersonZone:
    """The zone of a person's message: theirs as Slack gave it; else the channel's of their latest post of
    the last 4 weeks; else UTC."""
    if person.timezone and is_zone(person.timezone):
        return PersonZone(person.timezone)
    latest = posts_shared_between(s, team_id, start=now - RATE_WINDOW, end=now, owner=person.user_id)
    channel = get_channel(s, team_id, latest[-1].channel_id) if latest else None
    if channel is not None and is_zone(channel.timezone):
        return PersonZone(channel.timezone, own=False, channel_id=channel.channel_id)
    return PersonZone("UTC", own=False)


def read_zone(client: WebClient, user_id: str) -> str | None:
    """The time zone Slack gives for the person: users.info (Tier 4, users:read;
    docs.slack.dev/reference/methods/users.info), its ``tz``; None when it gives none. Raises
    SlackApiError."""
    user = client.users_info(user=user_id).get("user") or {}
    tz = user.get("tz")
    return tz if isinstance(tz, str) and tz else None


def refresh_zone(
    sessions: sessionmaker[Session],
    client: WebClient,
    team_id: str,
    user_id: str,
    now: datetime,
    *,
    force: bool,
) -> None:
    """Read the person's zone from Slack when ``force`` or when it is a week old, and keep it. A failed
    read is logged and leaves the zone as it was."""
    with sessions.begin() as s:
        person = get_person(s, team_id, user_id)
        if person is None:
            return
        read_at = person.timezone_read_at
    if not force and read_at is not None and now - read_at < ZONE_KEPT:
        return
    try:
        tz = read_zone(client, user_id)
    except SlackApiError as error:
        logger.warning("could not read the time zone of %s: %s", user_id, slack_error(error))
        return
    with sessions.begin() as s:
        remember_zone(s, team_id, user_id, tz, now=now)


def turn_weekly_dm(
    sessions: sessionmaker[Session], client: WebClient, team_id: str, user_id: str, *, on: bool, now: datetime
) -> None:
    """Turn the person's weekly direct message on (reading their zone from Slack) or off."""
    with sessions.begin() as s:
        set_weekly_dm(s, team_id, user_id, on=on, now=now)
    if on:
        refresh_zone(sessions, client, team_id, user_id, now, force=True)


def takes_weekly_dm(s: Session, team_id: str, user_id: str) -> bool:
    """Whether the person takes the weekly direct message instead of channel nudges."""
    person = get_person(s, team_id, user_id)
    return person is not None and person.weekly_dm


def own_rate(s: Session, team_id: str, reach: ledger.Reach, now: datetime) -> Rate:
    """The reply rate over the person's own posts (``reach.owner``) of the last 4 weeks, in reach."""
    posts = posts_shared_between(
        s, team_id, start=now - RATE_WINDOW, end=now, channel_ids=reach.channels, owner=reach.owner
    )
    return reply_rate(ledger.post_facts(s, team_id, posts))


@dataclass(frozen=True)
class WeeklySummary:
    """What one person's weekly message shows: the comments it lists (open ones, and on a redraw those
    closed since), how many are waiting in all, their posts of the week with their latest numbers, and
    their reply rate over 4 weeks."""

    user_id: str
    comments: list[tuple[Comment, Post]]
    waiting: int
    posts: list[tuple[Post, Snapshot | None]]
    rate: Rate
    zone: PersonZone


def compose(
    s: Session,
    team_id: str,
    reach: ledger.Reach,
    *,
    at: datetime,
    zone: PersonZone,
    listed: list[int] | None = None,
) -> WeeklySummary:
    """The person's summary as of ``at``, within ``reach`` (theirs, in the channels they are in): their
    oldest waiting comments, or the comments ``listed`` as they are now."""
    owner = reach.owner
    assert owner is not None, "a weekly message is one person's"
    if listed is None:
        waiting = ledger.unanswered(s, team_id, reach, owner=owner, limit=MAX_LISTED)
        comments = list(waiting.items)
    else:
        comments = []
        for comment_id in listed[:MAX_LISTED]:
            comment = get_comment(s, team_id, comment_id)
            post = get_post(s, team_id, comment.post_id) if comment is not None else None
            if comment is not None and post is not None and reach.covers(comment.channel_id, post):
                comments.append((comment, post))
    total = count_open_comments(s, team_id, channel_ids=reach.channels, owner=owner)
    posts = posts_shared_between(
        s, team_id, start=at - POSTS_WINDOW, end=at, channel_ids=reach.channels, owner=owner
    )
    return WeeklySummary(
        user_id=owner,
        comments=comments,
        waiting=total,
        posts=[(p, latest_snapshot(s, team_id, p.id)) for p in posts],
        rate=own_rate(s, team_id, reach, at),
        zone=zone,
    )


def _numbers(snapshot: Snapshot | None, post: Post, now: datetime) -> str:
    """The post's latest numbers and where they came from ("typed by @ada 2 days ago", "fetched from
    Bluesky 10 minutes ago")."""
    if snapshot is None:
        return "no numbers yet"
    return (
        f"{snapshot.comments_received} comments, {snapshot.replies_sent} replies, "
        f"{snapshot.shares} shares, {snapshot.likes} likes ({numbers_from(snapshot, post, now)})"
    )


def _closed_line(comment: Comment, post: Post) -> str:
    if comment.state == "answered":
        how = answered_how(comment)
    elif comment.state == "dismissed":
        how = "marked as needing no reply"
    else:
        how = "no longer tracked"
    return f"~#{comment.id}~ on {format_post_link(post)}: {how}."


def render_weekly_dm(summary: WeeklySummary, now: datetime) -> Message:
    """The weekly message: waiting comments oldest first with their buttons, then how many more and
    where to see them; the posts of the week with their numbers; the person's own reply rate."""
    listed = summary.comments[:MAX_LISTED]
    open_listed = [(c, p) for c, p in listed if c.state == "open"]
    if summary.waiting == 0:
        lead = "No comments on your posts are waiting for an answer."
    else:
        noun = "comment on your posts is" if summary.waiting == 1 else "comments on your posts are"
        lead = f"{summary.waiting} {noun} waiting for an answer, oldest first."
    blocks: list[Block] = [header("Your week on twoway"), section(lead)]
    for comment, post in listed:
        if comment.state == "open":
            blocks += [
                comment_section(comment, post, now, {}),
                comment_buttons(comment.id, snooze=True, claimed=comment.claimed_by is not None),
            ]
        else:
            blocks.append(context(_closed_line(comment, post)))
    more = summary.waiting - len(open_listed)
    if more > 0:
        blocks.append(
            context(f"and {more} more: your Home tab lists them, or `/twoway unanswered me` in each channel.")
        )
    blocks += [DividerBlock(), header("Your posts this week")]
    if summary.posts:
        newest = [
            f"• {format_post_link(p)} · {slack_date(p.shared_at)} · {_numbers(snap, p, now)}"
            for p, snap in reversed(summary.posts[-LIST_LIMIT:])
        ]
        more_posts = len(summary.posts) - len(newest)
        blocks.append(
            section(
                listing(
                    None,
                    newest,
                    POSTS_BUDGET,
                    lambda n: f"and {n} more on your Home tab",
                    len,
                    unlisted=more_posts,
                )
            )
        )
    else:
        blocks.append(section("You haven't shared a post in the last 7 days."))
    rate = own_rate_line(summary.rate)
    blocks.append(section(f"*Your reply rate:* {rate}"))
    blocks.append(
        context(
            f"{summary.zone.note()} It replaces your nudges in the channels. "
            "Turn it off on twoway's Home tab or with `/twoway dm off`."
        )
    )
    text = f"Your week on twoway: {lead} {rate}"
    return message(text, blocks)


def recipe_of(summary: WeeklySummary, reach: ledger.Reach, at: datetime) -> dict[str, Any]:
    """What `redraw_weekly_dm` needs to draw the message again, as JSON."""
    return {
        "user_id": summary.user_id,
        "channels": sorted(reach.channels),
        "at": at.isoformat(),
        "zone": summary.zone.name,
        "zone_own": summary.zone.own,
        "zone_channel": summary.zone.channel_id,
        "comment_ids": [c.id for c, _ in summary.comments],
    }


def redraw_weekly_dm(
    s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
) -> Message | None:
    """The weekly message drawn again from its recipe, with its comments as they are now; None when the
    recipe isn't one this version can read."""
    try:
        user_id = str(recipe["user_id"])
        reach = ledger.Reach(frozenset(str(c) for c in recipe["channels"]), owner=user_id)
        at = datetime.fromisoformat(str(recipe["at"]))
        channel = recipe.get("zone_channel")
        person_zone = PersonZone(
            str(recipe["zone"]), own=bool(recipe["zone_own"]), channel_id=str(channel) if channel else None
        )
        listed = [int(i) for i in recipe["comment_ids"]]
    except (KeyError, TypeError, ValueError):
        logger.warning("a weekly message's recipe can't be read: %r", recipe)
        return None
    summary = compose(s, team_id, reach, at=at, zone=person_zone, listed=listed)
    return render_weekly_dm(summary, now)


def dm_metadata(team_id: str, user_id: str, week: Week) -> dict[str, Any]:
    """Message metadata that identifies a person's message of a week, so that a taker finds it."""
    return {
        "event_type": DM_EVENT_TYPE,
        "event_payload": {"team_id": team_id, "user_id": user_id, "week": week.start.date().isoformat()},
    }


@dataclass(frozen=True)
class DmOutcome:
    """What one person's week came to; ``ts`` once the message is in Slack."""

    user_id: str
    status: DmStatus
    ts: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Claim:
    dm_id: int
    claimed_at: datetime
    # A claim taken over from a crashed or failed attempt may have been sent already.
    search_first: bool


@dataclass(frozen=True)
class WeeklyDms:
    """Sends each person's weekly message under claims in ``weekly_dms``; safe from any replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    replica: str
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(minutes=5)
    # The pace of Slack calls shared by every replica; None for Slack's own limits, in ``sessions``.
    pacer: Pacer | None = None

    def sweep(self, team_id: str) -> list[DmOutcome]:
        """Send the week's message of everyone in the team who takes it and whose Monday 09:00 has come
        (within a day); return what happened to each one acted on."""
        with self.sessions.begin() as s:
            users = [p.user_id for p in people_taking_dm(s, team_id)]
        outcomes = []
        for user_id in users:
            try:
                outcome = self.send_if_due(team_id, user_id)
            except Exception:
                # One person's trouble must not cost the others their message.
                logger.exception("the weekly message of %s/%s failed", team_id, user_id)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def send_if_due(self, team_id: str, user_id: str) -> DmOutcome | None:
        """Send the person's message of this week if it is due and not sent; None if nothing to do."""
        client = self.client_for(team_id)
        refresh_zone(self.sessions, client, team_id, user_id, self.clock(), force=False)
        now = self.clock()
        with self.sessions.begin() as s:
            person = get_person(s, team_id, user_id)
            if person is None or not person.weekly_dm:
                return None
            person_zone = zone_of(s, team_id, person, now)
            week = week_of(person_zone.name, now)
            if now < week.due or now - week.due > CATCH_UP_WINDOW:
                return None
            row = get_weekly_dm(s, team_id, user_id, week.start)
            if row is not None and row.state == "sent":
                return None
            created = claim_weekly_dm(
                s, team_id, user_id, week_start=week.start, replica=self.replica, now=now
            )
            if created is not None:
                claim = _Claim(created.id, created.claimed_at, search_first=False)
            else:
                row = row or get_weekly_dm(s, team_id, user_id, week.start)
                assert row is not None, "the claim lost to this row"
                taken = take_over_weekly_dm(
                    s,
                    team_id,
                    row.id,
                    replica=self.replica,
                    now=now,
                    stale_before=now - self.lease,
                    max_attempts=MAX_POST_ATTEMPTS,
                )
                if taken is None:
                    s.refresh(row)
                    if row.state == "claimed":
                        return DmOutcome(user_id, "in_progress")
                    if row.state == "sent":
                        return DmOutcome(user_id, "already_sent", row.message_ts)
                    return None
                claim = _Claim(taken.id, taken.claimed_at, search_first=True)
        try:
            return self._send(client, team_id, user_id, week, person_zone, claim)
        except Exception as error:
            # Anything unforeseen fails the claim, as a failed post does: tried again by the next sweeps
            # (looking for the message first), then left failed.
            logger.exception("the weekly message of %s/%s failed", team_id, user_id)
            return self._fail(team_id, user_id, claim, f"internal: {error!r}")

    def _send(
        self,
        client: WebClient,
        team_id: str,
        user_id: str,
        week: Week,
        person_zone: PersonZone,
        claim: _Claim,
    ) -> DmOutcome:
        pacer = self.pacer or Pacer(self.sessions)
        metadata = dm_metadata(team_id, user_id, week)
        try:
            # The app's conversation with the person (its Messages tab): conversations.open (im:write)
            # gives its id, which the history search needs.
            channel_id = str(client.conversations_open(users=user_id)["channel"]["id"])
            # Their own items, in the channels they are in, as on their Home tab (`bot.home`).
            reach = ledger.Reach(channels_of(client, user_id), owner=user_id)
        except SLACK_FAILURES as error:
            return self._fail(team_id, user_id, claim, describe_failure(error))
        if claim.search_first:
            pacer.wait(team_id, HISTORY_METHODS[0])
            try:
                found = find_message(
                    client, channel_id, oldest=week.due - HISTORY_MARGIN, matches=has_metadata(metadata)
                )
            except SLACK_FAILURES as error:
                return self._fail(team_id, user_id, claim, f"history: {describe_failure(error)}")
            if found is not None:
                # What it lists now stands in for what it listed then: the refresher draws it again.
                self._record(team_id, user_id, reach, person_zone, claim, channel_id, found)
                logger.info(
                    "weekly message of %s/%s was sent before a crash; recorded %s", team_id, user_id, found
                )
                return DmOutcome(user_id, "found_after_crash", found)
        now = self.clock()
        with self.sessions() as s:
            summary = compose(s, team_id, reach, at=now, zone=person_zone)
            rendered = render_weekly_dm(summary, now)
        try:
            ts = post_once(
                client,
                pacer,
                team_id,
                search_from=week.due - HISTORY_MARGIN,
                metadata=metadata,
                channel=channel_id,
                text=rendered["text"],
                blocks=rendered["blocks"],
            )
        except SLACK_FAILURES as error:
            return self._fail(team_id, user_id, claim, describe_failure(error))
        self._record(team_id, user_id, reach, person_zone, claim, channel_id, ts, summary=summary, at=now)
        return DmOutcome(user_id, "sent", ts)

    def _record(
        self,
        team_id: str,
        user_id: str,
        reach: ledger.Reach,
        person_zone: PersonZone,
        claim: _Claim,
        channel_id: str,
        ts: str,
        *,
        summary: WeeklySummary | None = None,
        at: datetime | None = None,
    ) -> None:
        now = self.clock()
        at = at or now
        with self.sessions.begin() as s:
            if summary is None:
                summary = compose(s, team_id, reach, at=at, zone=person_zone)
            kept = record_weekly_dm_sent(
                s,
                team_id,
                claim.dm_id,
                claimed_at=claim.claimed_at,
                channel_id=channel_id,
                message_ts=ts,
                now=now,
            )
            remember(
                s,
                team_id,
                channel_id=channel_id,
                ts=ts,
                kind="dm",
                recipe=recipe_of(summary, reach, at),
                comment_ids=[c.id for c, _ in summary.comments],
                now=now,
            )
        if not kept:
            logger.warning(
                "weekly message %s of %s/%s was sent after its claim was taken over", ts, team_id, user_id
            )

    def _fail(self, team_id: str, user_id: str, claim: _Claim, error: str) -> DmOutcome:
        logger.warning("weekly message of %s/%s not sent: %s", team_id, user_id, error)
        with self.sessions.begin() as s:
            record_weekly_dm_failed(s, team_id, claim.dm_id, claimed_at=claim.claimed_at, error=error)
        return DmOutcome(user_id, "failed", error=error)


def setting_line(s: Session, team_id: str, user_id: str, now: datetime) -> str:
    """What `/twoway dm` says of the person's weekly summary: on (and when it comes) or off."""
    person = get_person(s, team_id, user_id)
    if person is None or not person.weekly_dm:
        return (
            "Your weekly summary in a DM is off: you're nudged in the channel about each comment waiting "
            "on your posts. `/twoway dm on` sends you one message every Monday at 09:00 your time instead."
        )
    return (
        "Your weekly summary in a DM is on: your waiting comments, your posts' numbers and your reply rate, "
        f"instead of a nudge in the channel for each comment. {zone_of(s, team_id, person, now).note()} "
        "`/twoway dm off` turns it off."
    )
