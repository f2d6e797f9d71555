"""Calling Slack from a listener: a failed call is logged and reported, never a crash or a lost write."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from bot.render import Message

logger = logging.getLogger("twoway.slack")

T = TypeVar("T")

# What a person should do about the errors a channel call can meet.
_ADVICE = {
    "not_in_channel": "twoway isn't in that channel: invite it with `/invite @twoway`.",
    "channel_not_found": "twoway can't see that channel: invite it with `/invite @twoway`.",
    "is_archived": "that channel is archived.",
    "message_not_found": "that message is gone.",
    "thread_not_found": "that thread is gone.",
    "ratelimited": "Slack is rate-limiting twoway; try again in a minute.",
    # The app's Messages tab is where its direct messages go (manifest: features.app_home).
    "messages_tab_disabled": "twoway's Messages tab is turned off, so it can't send you a direct message; "
    "ask whoever manages twoway's Slack app to turn it on under App Home.",
}


def slack_error(error: SlackApiError) -> str:
    """The error code Slack answered with."""
    return str(error.response.get("error", "unknown_error"))


def advice(error: SlackApiError) -> str:
    """What went wrong with a Slack call, in words a person can act on."""
    code = slack_error(error)
    return _ADVICE.get(code, f"Slack answered `{code}`.")


def attempt(call: Callable[[], T], what: str, *, quiet: tuple[str, ...] = ()) -> T | None:
    """Run one Slack call; on an API error log it (unless its code is in ``quiet``) and return None."""
    try:
        return call()
    except SlackApiError as error:
        code = slack_error(error)
        if code not in quiet:
            logger.warning("%s failed: %s", what, code)
        return None


def without_waiting(client: WebClient) -> WebClient:
    """``client`` as it is, except that a 429 is raised as `ratelimited` instead of waited out, for a
    call whose caller has something better to do than wait Slack's Retry-After (up to a minute)."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers),
        retry_handlers=[h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)],
    )


def retry_after(error: SlackApiError, default: float = 60.0) -> float:
    """The seconds a 429 asks to wait (its Retry-After header), else ``default``."""
    headers = {str(k).lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


def post_message(client: WebClient, **kwargs: Any) -> SlackResponse:
    """chat.postMessage with link and media previews off: a digest, notice or nudge links posts, and
    their previews would bury what twoway says under the posts themselves. (Ephemeral messages and
    updates never unfurl; chat.postMessage is the only call that takes these arguments.)"""
    return client.chat_postMessage(**kwargs, unfurl_links=False, unfurl_media=False)


def tell(client: WebClient, channel: str, user: str, reply: Message, *, thread_ts: str | None = None) -> None:
    """Show ``reply`` to one person in a channel (ephemeral); a failure is logged, nothing more."""
    kwargs: dict[str, Any] = {"channel": channel, "user": user, **reply}
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    attempt(lambda: client.chat_postEphemeral(**kwargs), "chat.postEphemeral")


def react(client: WebClient, channel: str, ts: str, name: str) -> SlackResponse | None:
    """Add twoway's reaction to a message; one already there is fine."""
    return attempt(
        lambda: client.reactions_add(channel=channel, timestamp=ts, name=name),
        "reactions.add",
        quiet=("already_reacted",),
    )


# The channels a person's own items may show from: public and private ones (with a bot token, Slack lists
# only the private channels twoway is in too), never direct messages.
MEMBER_TYPES = "public_channel,private_channel"


def channels_of(client: WebClient, user_id: str) -> frozenset[str]:
    """The channels ``user_id`` is a member of, among those twoway can see: users.conversations (Tier 3,
    channels:read and groups:read; docs.slack.dev/reference/methods/users.conversations), every page
    of it, as slack_sdk follows its cursor. Raises SlackApiError."""
    pages = client.users_conversations(user=user_id, types=MEMBER_TYPES, limit=999)
    return frozenset(str(c["id"]) for page in pages for c in page.get("channels") or [])
