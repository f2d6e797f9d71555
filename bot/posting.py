"""Posting to Slack from twoway's own jobs (digests, nudges): paced calls, failures put in words, and
finding a message already posted.

A Monday fan-out posts hundreds of digests at once into one workspace, where Slack limits
chat.postMessage and the upload methods per workspace. The `Pacer` spaces the calls of every
replica together within those limits, so that Slack rarely answers 429. A post Slack still refuses
with 429 holds every replica's turns for Slack's Retry-After, and takes a later turn (`post_once`).

A job that died after posting left a claim but no record of its message: whoever takes the claim
over first looks for the message by its metadata (`find_message`), and records it rather than post
it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.slack_calls import post_message, retry_after, slack_error, without_waiting
from storage.turns import hold_turns, take_turn, take_turn_by

logger = logging.getLogger(__name__)

# A post attempt is a claim; after this many a digest or a nudge is left failed for people to look at.
MAX_POST_ATTEMPTS = 5
# Within one attempt, the turns a post takes at chat.postMessage while Slack answers 429 (as many as
# slack_sdk's RateLimitErrorRetryHandler makes for twoway's other calls: `bot.deps.retry_handlers`).
RATE_LIMITED_TURNS = 4
HISTORY_PAGE = 200
HISTORY_PAGES = 10

# What a Slack call raises once slack_sdk's retry handlers have given up: an error answer,
# a client-side failure, or the network (URLError and timeouts are OSErrors).
SLACK_FAILURES = (SlackApiError, SlackClientError, OSError)

POST_MESSAGE = "chat.postMessage"
CHAT_UPDATE = "chat.update"
# Where a job looks for a message it may have posted: the channel's history, or the thread's replies.
HISTORY_METHODS = ("conversations.history", "conversations.replies")
# Answers after which Slack may have done the call all the same: "it's possible some aspect of the
# operation succeeded" (fatal_error and internal_error, docs.slack.dev/reference/methods/chat.postMessage).
UNKNOWN_OUTCOMES = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
# What files_upload_v2 calls for one file (and, between them, the upload URL, which is not limited).
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


@dataclass(frozen=True)
class CallRate:
    """A token bucket: ``burst`` calls at once, then ``per_minute`` calls a minute."""

    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


# Slack limits each method "per workspace per app" (https://docs.slack.dev/apis/web-api/rate-limits):
# chat.postMessage to "several hundred messages per minute" across a workspace and about one a second
# in a channel; the upload methods are Tier 4, "100+ per minute". Slack allows bursts without saying
# how big; twoway spends five seconds' worth at most, so that calls that reach Slack a moment late,
# and then the next one on time, still fit. The history methods are Tier 3, "50+ per minute"
# (docs.slack.dev/reference/methods/conversations.history).
SLACK_RATES: Mapping[str, CallRate] = {
    POST_MESSAGE: CallRate(per_minute=300, burst=25),
    **dict.fromkeys(UPLOAD_METHODS, CallRate(per_minute=100, burst=8)),
    **dict.fromkeys(HISTORY_METHODS, CallRate(per_minute=50, burst=4)),
    # chat.update is Tier 3 too (docs.slack.dev/reference/methods/chat.update).
    CHAT_UPDATE: CallRate(per_minute=50, burst=4),
}
# chat.postMessage in one channel: "1 per second", short bursts allowed.
CHANNEL_RATES: Mapping[str, CallRate] = {POST_MESSAGE: CallRate(per_minute=60, burst=2)}


@dataclass(frozen=True)
class Pacer:
    """Keeps every replica's calls of each method, in each workspace, within ``rates`` together.

    The turns are rows in the ledger's database (`storage.turns`), one per workspace and method (and
    per channel, for ``channel_rates``), so replicas share one pace instead of each spending the
    whole limit. A caller takes its turns in one short transaction, then sleeps until they come,
    holding no connection: waiting callers go in the order they came and none wakes to be refused.
    A post that still meets a 429 (another app of the workspace's, a call delayed into the next one's
    turn) holds the pace (`post_once`); other calls that do are waited out by slack_sdk's
    RateLimitErrorRetryHandler. The clock is the wall clock, which replicas share.
    """

    sessions: sessionmaker[Session]
    rates: Mapping[str, CallRate] = field(default_factory=lambda: SLACK_RATES)
    channel_rates: Mapping[str, CallRate] = field(default_factory=lambda: CHANNEL_RATES)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def wait(self, team_id: str, *methods: str, channel_id: str | None = None) -> float:
        """Sleep until one call of each of ``methods`` is due in the workspace, and in ``channel_id``
        when given; return the seconds slept."""
        turns = [(m, "", rate) for m in methods if (rate := self.rates.get(m)) is not None]
        if channel_id:
            turns += [
                (m, channel_id, rate) for m in methods if (rate := self.channel_rates.get(m)) is not None
            ]
        if not turns:
            return 0.0
        now = self.clock()
        due = now
        with self.sessions.begin() as s:
            # Always in the same order, so that two callers never wait on each other's rows.
            for method, channel, rate in sorted(turns, key=lambda turn: turn[:2]):
                turn = take_turn(
                    s,
                    team_id,
                    method,
                    now=now,
                    interval=60 / rate.per_minute,
                    burst=rate.burst,
                    channel_id=channel,
                )
                due = max(due, turn)
        # Never negative: a turn is never before ``now``.
        delay = due - now
        if delay > 0:
            self.sleep(delay)
        return delay

    def turn_within(self, team_id: str, method: str, seconds: float) -> bool:
        """Take a turn at ``method`` in the workspace if one comes within ``seconds``, and sleep until it
        does; False, taking nothing, when the next is later (the caller does without the call)."""
        rate = self.rates.get(method)
        if rate is None:
            return True
        now = self.clock()
        with self.sessions.begin() as s:
            due = take_turn_by(
                s, team_id, method, now=now, interval=60 / rate.per_minute, burst=rate.burst, by=now + seconds
            )
        if due is None:
            return False
        if due > now:
            self.sleep(due - now)
        return True

    def hold(self, team_id: str, method: str, seconds: float) -> None:
        """Give no replica a turn at ``method`` in the workspace for ``seconds``: Slack answered 429 with
        that Retry-After (as it does past its own limit, which may be below ``rates``)."""
        rate = self.rates.get(method)
        if rate is None:
            return
        with self.sessions.begin() as s:
            hold_turns(s, team_id, method, until=self.clock() + seconds, interval=60 / rate.per_minute)


def outcome_unknown(error: Exception) -> bool:
    """Whether a failed call may have been carried out all the same: Slack answered a server error, or
    the connection broke before its answer came back."""
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500 or error.response.get("error") in UNKNOWN_OUTCOMES
    return isinstance(error, SLACK_FAILURES)


def post_once(
    client: WebClient,
    pacer: Pacer,
    team_id: str,
    *,
    search_from: datetime,
    metadata: dict[str, Any],
    thread_ts: str | None = None,
    **message: Any,
) -> str:
    """Post a message that must appear once (a digest, a nudge); return its ts, or raise one of
    SLACK_FAILURES.

    When a post's outcome is unknown, the message is looked for by its ``metadata`` before it is posted
    again, so that a post Slack kept but never confirmed is recorded, not repeated. (The client's
    retry handlers never repeat chat.postMessage themselves: see `bot.deps.make_web_client`.)
    """
    channel_id = str(message["channel"])
    if thread_ts:
        message["thread_ts"] = thread_ts
    try:
        return _post_in_turn(client, pacer, team_id, channel_id, metadata, message)
    except SLACK_FAILURES as error:
        if not outcome_unknown(error):
            raise
        logger.warning("posting to %s may or may not have worked (%s); looking for it", channel_id, error)
    pacer.wait(team_id, HISTORY_METHODS[1] if thread_ts else HISTORY_METHODS[0])
    found = find_message(
        client, channel_id, oldest=search_from, matches=has_metadata(metadata), thread_ts=thread_ts
    )
    if found is not None:
        return found
    return _post_in_turn(client, pacer, team_id, channel_id, metadata, message)


def _post_in_turn(
    client: WebClient,
    pacer: Pacer,
    team_id: str,
    channel_id: str,
    metadata: dict[str, Any],
    message: dict[str, Any],
) -> str:
    """chat.postMessage in a turn of the pace; return the message's ts.

    A 429 holds every replica's turns in the workspace for Slack's Retry-After (`Pacer.hold`), and the
    post takes the next turn after it, up to RATE_LIMITED_TURNS turns. Waited out by slack_sdk instead,
    the post would come back outside the pace, among posts that keep Slack at its limit, and be
    refused again.
    """
    raises_429s = without_waiting(client)
    for _ in range(RATE_LIMITED_TURNS - 1):
        pacer.wait(team_id, POST_MESSAGE, channel_id=channel_id)
        try:
            return str(post_message(raises_429s, metadata=metadata, **message)["ts"])
        except SlackApiError as error:
            if slack_error(error) != "ratelimited":
                raise
            wait = retry_after(error, default=1.0)
            logger.info(
                "Slack refused a post to %s with 429: every post in the workspace waits %.0f s",
                channel_id,
                wait,
            )
            pacer.hold(team_id, POST_MESSAGE, wait)
    pacer.wait(team_id, POST_MESSAGE, channel_id=channel_id)
    return str(post_message(raises_429s, metadata=metadata, **message)["ts"])


def describe_failure(error: Exception) -> str:
    """The Slack error code, or the exception when Slack never answered."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"http_{error.response.status_code}")
    return repr(error)


def slack_ts(moment: datetime) -> str:
    """A moment as a Slack ``oldest``/``latest`` bound."""
    return f"{moment.timestamp():.6f}"


def find_message(
    client: WebClient,
    channel_id: str,
    *,
    oldest: datetime,
    matches: Callable[[dict[str, Any]], bool],
    thread_ts: str | None = None,
) -> str | None:
    """The ts of the newest message since ``oldest`` (in the thread, if given) that ``matches``, or None."""
    cursor: str | None = None
    for _ in range(HISTORY_PAGES):
        args: dict[str, Any] = {
            "channel": channel_id,
            "oldest": slack_ts(oldest),
            "include_all_metadata": True,
            "limit": HISTORY_PAGE,
        }
        if cursor:
            args["cursor"] = cursor
        page = (
            client.conversations_replies(ts=thread_ts, **args)
            if thread_ts
            else client.conversations_history(**args)
        )
        for message in page.get("messages") or []:
            if matches(message):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    logger.warning("gave up searching %s after %d pages", channel_id, HISTORY_PAGES)
    return None


def has_metadata(metadata: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """A message test: True for a message carrying exactly this metadata."""

    def matches(message: dict[str, Any]) -> bool:
        found = message.get("metadata") or {}
        return bool(
            found.get("event_type") == metadata["event_type"]
            and found.get("event_payload") == metadata["event_payload"]
        )

    return matches
