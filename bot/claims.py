""" "I'm on it": a person taking a waiting comment, letting it go, or asking someone else to take it.

A claim is fresh for its channel's ``claim_hours`` (a day unless the channel says otherwise): nobody
else is nudged about the comment while it is (`claim_is_fresh`, read by `bot.nudges`), and nobody else
can claim it over the claimer's head. Afterwards the sweep releases it and tells the claimer in one
line of their direct message with the app (`Releaser`); the conditional release makes that line go
out once however many replicas sweep. Every claim, release and reassignment marks the messages that
show the comment stale (`bot.live.comments_changed`) in its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import ledger
from bot.live import comments_changed
from bot.people import People
from bot.posting import POST_MESSAGE, Pacer
from bot.render import Message, note
from bot.render_ledger import (
    CLAIM_HOURS_DEFAULT,
    claim_hours_text,
    format_post_link,
    person_name,
    render_problem,
    slack_date,
)
from bot.slack_calls import post_message, slack_error
from bot.text import mention
from storage.channels import get_channel
from storage.comments import (
    assign_claim,
    claim_comment,
    claimed_comments,
    release_claim,
    release_lapsed_claim,
)
from storage.models import Channel, Comment, Post
from storage.posts import get_post

logger = logging.getLogger(__name__)

ClaimOutcome = Literal["claimed", "yours", "taken", "closed"]
ReleaseOutcome = Literal["released", "not_yours", "nobody"]


def claim_window(channel: Channel | None) -> timedelta:
    """How long a claim in ``channel`` stays fresh (a day in a channel twoway hasn't recorded)."""
    hours = channel.claim_hours if channel is not None else None
    return timedelta(hours=hours or CLAIM_HOURS_DEFAULT)


def claim_is_fresh(comment: Comment, channel: Channel, now: datetime) -> bool:
    """Whether someone is on ``comment`` and their claim has not lapsed at ``now``."""
    if comment.claimed_by is None or comment.claimed_at is None:
        return False
    return comment.claimed_at + claim_window(channel) > now


@dataclass(frozen=True)
class Claim:
    """What a claim, release or reassignment found: the comment as it is now, and its post."""

    outcome: ClaimOutcome | ReleaseOutcome | Literal["asked"]
    comment: Comment
    post: Post
    # When the claim lapses, for one that is fresh.
    until: datetime | None = None


def _placed(s: Session, team_id: str, comment: Comment) -> tuple[Post, Channel | None]:
    post = get_post(s, team_id, comment.post_id)
    assert post is not None, "a comment's post is never deleted while the comment exists"
    return post, get_channel(s, team_id, comment.channel_id)


def _until(comment: Comment, channel: Channel | None) -> datetime | None:
    if comment.claimed_at is None:
        return None
    return comment.claimed_at + claim_window(channel)


def claim(
    s: Session, team_id: str, reach: ledger.Reach, comment_id: int, *, by: str, now: datetime
) -> Claim | None:
    """Put ``by`` on the comment unless someone else's claim is fresh; None when it isn't in reach."""
    comment = ledger.comment_within(s, team_id, reach, comment_id)
    if comment is None:
        return None
    post, channel = _placed(s, team_id, comment)
    if comment.state != "open":
        return Claim("closed", comment, post)
    if comment.claimed_by == by and (channel is None or claim_is_fresh(comment, channel, now)):
        return Claim("yours", comment, post, _until(comment, channel))
    if not claim_comment(s, team_id, comment_id, by=by, at=now, stale_before=now - claim_window(channel)):
        s.refresh(comment)
        outcome: ClaimOutcome = "closed" if comment.state != "open" else "taken"
        return Claim(outcome, comment, post, _until(comment, channel))
    comments_changed(s, team_id, [comment_id], now=now)
    s.refresh(comment)
    return Claim("claimed", comment, post, _until(comment, channel))


def release(
    s: Session, team_id: str, reach: ledger.Reach, comment_id: int, *, by: str, now: datetime
) -> Claim | None:
    """Take ``by`` off the comment, if they are the one on it; None when it isn't in reach."""
    comment = ledger.comment_within(s, team_id, reach, comment_id)
    if comment is None:
        return None
    post, _ = _placed(s, team_id, comment)
    if comment.claimed_by is None:
        return Claim("nobody", comment, post)
    if comment.claimed_by != by or not release_claim(s, team_id, comment_id, by=by):
        s.refresh(comment)
        return Claim("not_yours" if comment.claimed_by else "nobody", comment, post)
    comments_changed(s, team_id, [comment_id], now=now)
    s.refresh(comment)
    return Claim("released", comment, post)


def reassign(
    s: Session, team_id: str, reach: ledger.Reach, comment_id: int, *, to: str, by: str, now: datetime
) -> Claim | None:
    """Put ``to`` on the comment at ``by``'s request; None when it isn't in reach."""
    comment = ledger.comment_within(s, team_id, reach, comment_id)
    if comment is None:
        return None
    post, channel = _placed(s, team_id, comment)
    if not assign_claim(s, team_id, comment_id, to=to, by=by, at=now):
        return Claim("closed", comment, post)
    comments_changed(s, team_id, [comment_id], now=now)
    s.refresh(comment)
    return Claim("asked", comment, post, _until(comment, channel))


def claims_of(s: Session, team_id: str, reach: ledger.Reach, user_id: str) -> list[tuple[Comment, Post]]:
    """The open comments ``user_id`` is on, in the channels of ``reach``, oldest claim first."""
    return claimed_comments(s, team_id, by=user_id, channel_ids=reach.channels)


# ---- answers -------------------------------------------------------------------------------------


def names_of(people: People, client: WebClient, team_id: str) -> dict[str, str]:
    """The names Slack shows for the workspace's people; none when Slack can't list them (then people
    are shown by their mention)."""
    try:
        return people.names(client, team_id)
    except SlackApiError as error:
        logger.warning("could not list the names of %s: %s", team_id, slack_error(error))
        return {}


def closed_line(comment: Comment) -> str:
    said = "answered" if comment.state == "answered" else "marked as needing no reply"
    return f"Comment #{comment.id} is {said} already: there is nothing to be on."


def render_claim(result: Claim, names: Mapping[str, str]) -> Message:
    """The answer for whoever clicked "I'm on it"."""
    comment = result.comment
    since = slack_date(comment.claimed_at) if comment.claimed_at else ""
    match result.outcome:
        case "claimed":
            until = f" until {slack_date(result.until)}" if result.until else ""
            return note(
                f"You're on comment #{comment.id} on {format_post_link(result.post)}. "
                f"Nobody else is nudged about it{until}."
            )
        case "yours":
            return note(f"You're already on comment #{comment.id}, since {since}.")
        case "closed":
            return render_problem(closed_line(comment))
        case _:
            who = person_name(comment.claimed_by or "", names)
            return render_problem(
                f"{who} is already on #{comment.id} since {since}. "
                "“Ask someone else” hands it on, if they can't answer it."
            )


def render_release(result: Claim, names: Mapping[str, str]) -> Message:
    """The answer for whoever clicked "Let it go"."""
    comment = result.comment
    match result.outcome:
        case "released":
            return note(f"You let comment #{comment.id} go: it is open to anyone again.")
        case "nobody":
            return note(f"Nobody is on comment #{comment.id}: there is nothing to let go.")
        case _:
            who = person_name(comment.claimed_by or "", names)
            return render_problem(
                f"Only {who} can let comment #{comment.id} go. “Ask someone else” hands it on."
            )


def any_owner(reach: ledger.Reach) -> ledger.Reach:
    """``reach`` for claims: a comment in the person's channels may be theirs to take, whoever's post
    it is on (the Home tab otherwise reaches only the person's own posts)."""
    return replace(reach, owner=None)


def asked_line(by: str, to: str, comment_id: int) -> str:
    """What the comment's thread says when someone hands it on: a mention, since it is a request."""
    return f"{mention(by)} asked {mention(to)} to take comment #{comment_id}."


# ---- lapsed claims -------------------------------------------------------------------------------


def render_lapsed(comment_id: int, post: Post, window: timedelta) -> Message:
    """The line a claimer gets in their direct message when their claim lapsed."""
    line = (
        f"Your claim on comment #{comment_id} (on {format_post_link(post)}) lapsed after "
        f"{claim_hours_text(int(window.total_seconds()) // 3600)}; it is open to anyone again."
    )
    return note(line)


@dataclass(frozen=True)
class Lapsed:
    """A claim the sweep released, and whether its claimer was told."""

    comment_id: int
    claimed_by: str
    told: bool


@dataclass(frozen=True)
class Releaser:
    """Releases the claims that lapsed and tells each claimer once; safe from any thread or replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    clock: Callable[[], datetime]
    pacer: Pacer | None = None

    def sweep(self, team_id: str) -> list[Lapsed]:
        """Release every lapsed claim of the team that no other replica released first."""
        now = self.clock()
        lapsed: list[tuple[Comment, Post, timedelta]] = []
        with self.sessions.begin() as s:
            channels: dict[str, Channel | None] = {}
            for comment, post in claimed_comments(s, team_id):
                if comment.channel_id not in channels:
                    channels[comment.channel_id] = get_channel(s, team_id, comment.channel_id)
                channel = channels[comment.channel_id]
                if channel is not None and not claim_is_fresh(comment, channel, now):
                    lapsed.append((comment, post, claim_window(channel)))
        done = []
        for comment, post, window in lapsed:
            assert comment.claimed_by is not None
            assert comment.claimed_at is not None
            claimer = comment.claimed_by
            with self.sessions.begin() as s:
                took = release_lapsed_claim(
                    s, team_id, comment.id, claimed_by=claimer, claimed_at=comment.claimed_at
                )
                if took:
                    comments_changed(s, team_id, [comment.id], now=now)
            if took:
                done.append(
                    Lapsed(comment.id, claimer, self._tell(team_id, claimer, comment.id, post, window))
                )
        return done

    def _tell(self, team_id: str, user_id: str, comment_id: int, post: Post, window: timedelta) -> bool:
        """One line in the claimer's direct message with the app: chat.postMessage with their user id
        as the channel posts there (chat:write)."""
        pacer = self.pacer or Pacer(self.sessions)
        pacer.wait(team_id, POST_MESSAGE, channel_id=user_id)
        try:
            post_message(self.client_for(team_id), channel=user_id, **render_lapsed(comment_id, post, window))
        except SlackApiError as error:
            logger.warning(
                "could not tell %s their claim on comment %d lapsed: %s",
                user_id,
                comment_id,
                slack_error(error),
            )
            return False
        return True
