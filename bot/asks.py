"""Asking for a post's missing numbers, once, in its thread.

A post nobody gave numbers (no snapshot) 48 hours after it was shared gets one reply under the message
that shared it, mentioning its owner, with a "Log numbers" button. Without numbers a post can't be
judged one-way or not, and the digest would say nothing of it but "numbers missing". Posts recorded
without a message (by command or import) have no thread and are not asked about; nor are posts over
7 days old, so that upgrading twoway doesn't fill a channel with asks about old posts.

Like a nudge, an ask is claimed, then posted, paced like every Slack call: the claim is the post's
``numbers_asked_at``, dated before posting. An ask Slack surely refused is given back and asked again
at a later sweep; one whose outcome stays unknown after `post_once` looked for it stays asked, since
asking twice is worse than not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement
from sqlalchemy.orm import Session, sessionmaker

from bot.metrics import ONE_WAY_WINDOW
from bot.posting import POST_MESSAGE, SLACK_FAILURES, Pacer, describe_failure, outcome_unknown, post_once
from bot.render import Message, message, section
from bot.render_ledger import format_post_link, platform_name
from bot.render_numbers import LOG_NUMBERS_ACTION
from bot.text import mention
from storage.ask_claims import claim_ask, posts_due_an_ask, release_ask
from storage.models import Post

logger = logging.getLogger(__name__)

ASK_EVENT_TYPE = "twoway_numbers_ask"
# Asked when the post is judged one-way or not: at the end of its first 48 hours.
ASK_AFTER = ONE_WAY_WINDOW
# Posts older than this at the sweep are left alone.
ASK_WITHIN = timedelta(days=7)

AskStatus = Literal["sent", "failed", "unsure"]


def ask_metadata(team_id: str, post_id: int) -> dict[str, Any]:
    """Message metadata that identifies an ask, so that a post whose outcome is unknown is found."""
    return {"event_type": ASK_EVENT_TYPE, "event_payload": {"team_id": team_id, "post_id": post_id}}


def render_ask(post: Post) -> Message:
    """The ask: the owner mentioned, what twoway needs, how to give it, and the "Log numbers" button."""
    owner = mention(post.owner_user_id)
    question = "How many comments did it get, and how many did we answer?"
    headline = f"{owner}, no numbers yet for this {format_post_link(post)}. {question}"
    how = "Reply here with them (`14 comments, 3 replies`), or log them with the button."
    button = ButtonElement(text="Log numbers", action_id=LOG_NUMBERS_ACTION, value=str(post.id))
    return message(
        f"No numbers yet for this {platform_name(post)} post. {question}",
        [section(f"{headline}\n{how}"), ActionsBlock(block_id=f"ask-{post.id}", elements=[button])],
    )


def refused(error: Exception) -> bool:
    """Whether Slack surely kept no ask: chat.postMessage itself answered with an error that says so.

    A failure of the search `post_once` makes after an unknown outcome leaves the ask unknown too.
    """
    return (
        isinstance(error, SlackApiError)
        and not outcome_unknown(error)
        and str(error.response.api_url).endswith(POST_MESSAGE)
    )


@dataclass(frozen=True)
class AskOutcome:
    """What the sweep did about one post's ask; ``ts`` once it is in Slack."""

    post_id: int
    status: AskStatus
    ts: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Asker:
    """Asks for the numbers of the posts that need them, each once; safe to run from any thread or replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    clock: Callable[[], datetime]
    # The pace of Slack calls shared by every replica; None for Slack's own limits, in ``sessions``.
    pacer: Pacer | None = None

    def sweep(self, team_id: str) -> list[AskOutcome]:
        """Ask about every post of the team that is due an ask; return what happened to each one claimed."""
        now = self.clock()
        with self.sessions.begin() as s:
            due = posts_due_an_ask(s, team_id, shared_from=now - ASK_WITHIN, shared_by=now - ASK_AFTER)
        outcomes = []
        for post in due:
            try:
                outcome = self._ask(team_id, post)
            except Exception:
                # One post's trouble must not cost the others their ask.
                logger.exception("asking for the numbers of post %d of %s failed", post.id, team_id)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _ask(self, team_id: str, post: Post) -> AskOutcome | None:
        # Rendered before the claim: a renderer bug must not leave the post asked and unasked.
        rendered = render_ask(post)
        # Dated now, not when the sweep began, so that a release matches this claim alone.
        claimed_at = self.clock()
        with self.sessions.begin() as s:
            if not claim_ask(s, team_id, post.id, now=claimed_at):
                return None
        assert post.message_ts is not None, "posts_due_an_ask reads only posts shared by a message"
        try:
            ts = post_once(
                self.client_for(team_id),
                self.pacer or Pacer(self.sessions),
                team_id,
                # The sharing message's own time, by Slack's clock: the ask can only be after it.
                search_from=post.shared_at,
                metadata=ask_metadata(team_id, post.id),
                thread_ts=post.message_ts,
                channel=post.channel_id,
                **rendered,
            )
        except SLACK_FAILURES as error:
            reason = describe_failure(error)
            if not refused(error):
                logger.warning("the ask about post %d may or may not be in Slack (%s)", post.id, reason)
                return AskOutcome(post.id, "unsure", error=reason)
            logger.warning("the ask about post %d was not posted (%s); asking again later", post.id, reason)
            with self.sessions.begin() as s:
                release_ask(s, team_id, post.id, claimed_at=claimed_at)
            return AskOutcome(post.id, "failed", error=reason)
        return AskOutcome(post.id, "sent", ts)
