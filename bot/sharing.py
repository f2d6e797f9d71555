"""Posts shared in channels: their links recorded, thread summaries read, edits and deletions followed.

A message with post links records one post per link that is the team's (`bot.ownership`) and gets one
:eyes: reaction; one whose links are none of the team's records nothing. A reply in a
post's thread that reads as an engagement summary records a snapshot, also when an integration
posted it. An edit re-reads the links; a deletion withdraws the posts only that message shared.

The messages someone may flag by reaction (replies in a tracked post's thread, messages sharing posts)
are kept as they come, edits and deletions followed, so that a flag finds its message without reading
it back from Slack (`bot.flagging`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import ledger, live, ownership
from bot.deps import Deps
from bot.links import PostLink, links_in_message
from bot.numbers import SUMMARY_REACTION, read_back_of
from bot.render_ledger import format_post_link, render_problem
from bot.render_numbers import render_hint
from bot.slack_calls import attempt, react, tell
from bot.sources import Sources, account_of
from bot.summary import mentions_counts, read_summary
from storage.event_claims import in_hand

logger = logging.getLogger(__name__)

# How long a summary waits for its thread's own message, whose event is still being handled (here or on
# another replica), to record its post: that takes milliseconds, so this only covers a slow moment.
WAIT_FOR_THREAD = 5.0

TRACKING_REACTION = "eyes"


@dataclass(frozen=True)
class Us:
    """twoway's own identity in the workspace, so that it never records its own messages."""

    bot_id: str | None
    bot_user_id: str | None


def _is_from_a_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def _is_ours(message: dict[str, Any], us: Us) -> bool:
    return (message.get("bot_id") is not None and message.get("bot_id") == us.bot_id) or (
        message.get("user") is not None and message.get("user") == us.bot_user_id
    )


def posted(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any], us: Us) -> None:
    """Record a new message's post links, or a thread reply's engagement summary."""
    if _is_ours(event, us):
        return
    channel, ts = event["channel"], event["ts"]
    thread_ts = event.get("thread_ts")
    is_reply = bool(thread_ts and thread_ts != ts)
    kept = is_reply and _keep(deps, team_id, channel, event, shares_posts=False)
    if is_reply and _summary(deps, client, team_id, event):
        return
    if _is_from_a_bot(event) or not event.get("user"):
        return
    if not links_in_message(event.get("text") or "", event.get("blocks")):
        return
    shares, found = _record_links(deps, team_id, channel, event)
    if shares is None:
        logger.info("message %s in %s links nothing that is the team's", ts, channel)
        return
    if shares.posts and not kept:
        _keep(deps, team_id, channel, event, shares_posts=True)
    logger.info("message %s in %s shares %d posts (%d new)", ts, channel, len(shares.posts), len(shares.new))
    react(client, channel, ts, TRACKING_REACTION)
    ownership.offer_undo(client, channel, event["user"], shares.new, found)


def _keep(
    deps: Deps,
    team_id: str,
    channel: str,
    message: dict[str, Any],
    *,
    shares_posts: bool,
    edited: bool = False,
) -> bool:
    with deps.sessions.begin() as s:
        return ledger.keep(
            s, team_id, channel, message, shares_posts=shares_posts, now=deps.clock(), edited=edited
        )


def _record_links(
    deps: Deps, team_id: str, channel: str, message: dict[str, Any], *, edited: bool = False
) -> tuple[ledger.Shares | None, Sources]:
    """Record the posts a message links to now, those that are the team's (`bot.ownership`); those it no
    longer links to are withdrawn. A new message linking nothing of the team's records nothing (None)."""
    links = links_in_message(message.get("text") or "", message.get("blocks"))
    with deps.sessions.begin() as s:
        counted, found = ownership.counted_links(s, team_id, channel, links)
        counted = _not_replies(s, team_id, channel, message, counted)
        if not counted and not edited:
            return None, found
        shares = ledger.share_links(
            s,
            team_id,
            channel_id=channel,
            message_ts=message["ts"],
            user_id=message["user"],
            links=counted,
            now=deps.clock(),
            timezone=deps.config.timezone,
        )
    return shares, found


def _not_replies(
    s: Session, team_id: str, channel: str, message: dict[str, Any], links: list[PostLink]
) -> list[PostLink]:
    """The links that aren't replies to the thread's post. In a tracked post's thread, a link on the post's
    own network from another account (a customer's reply on X, say) is a comment's own link, flagged with
    the message (`bot.flagging`), not the team's next post; one from the post's own account still is."""
    thread_ts = message.get("thread_ts")
    if not links or not thread_ts or thread_ts == message.get("ts"):
        return links
    posts = ledger.thread_post(s, team_id, channel, thread_ts)

    def is_reply(link: PostLink) -> bool:
        account = account_of(link.url)
        return account is not None and any(
            post.platform == link.platform
            and post.canonical_url != link.canonical_url
            and account_of(post.url) not in (None, account)
            for post in posts
        )

    return [link for link in links if not is_reply(link)]


class ThreadNotReady(RuntimeError):
    """A summary's thread message is still being handled: the summary is handled again after the lease
    (`bot.inbox`), rather than lost."""


def _await_thread(deps: Deps, team_id: str, channel: str, thread_ts: str) -> None:
    """Return once the thread's message has recorded its post, or no event about it is in hand; raise
    `ThreadNotReady` when one still is after `WAIT_FOR_THREAD`. A reply can arrive while its thread's
    message is still being handled: without this wait, its summary would find no post and be lost."""
    deadline = time.monotonic() + WAIT_FOR_THREAD
    pause = 0.02
    while True:
        with deps.sessions.begin() as s:
            if ledger.thread_post(s, team_id, channel, thread_ts) or not in_hand(s, team_id, thread_ts):
                return
        if time.monotonic() >= deadline:
            raise ThreadNotReady(f"the message {thread_ts} this summary replies to is still being handled")
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _summary(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any]) -> bool:
    """Record a thread reply that reads as a summary and read it back to its writer; return whether it
    was one (handled either way). A reply that speaks of counts twoway can't read gets a hint."""
    text = event.get("text") or ""
    if read_summary(text) is None:
        if event.get("user") and mentions_counts(text):
            _hint(deps, client, team_id, event)
        return False
    channel, ts = event["channel"], event["ts"]
    _await_thread(deps, team_id, channel, event["thread_ts"])
    author = event.get("user") or event.get("bot_id")
    reading = None
    with deps.sessions.begin() as s:
        posts = ledger.thread_post(s, team_id, channel, event["thread_ts"])
        if len(posts) != 1:
            recorded = None
        else:
            # The post's network decides what a bare "replies" count means.
            summary = read_summary(text, posts[0].platform)
            assert summary is not None, "a summary reads as one on every network"
            reading = summary.replies_read_as
            recorded = ledger.record_engagement(
                s,
                team_id,
                posts[0],
                summary.engagement,
                recorded_at=ledger.slack_time(ts),
                recorded_by=author,
                source="thread",
                source_ref=ts,
            )
    if recorded is not None:
        logger.info("summary %s recorded a snapshot of post %d", ts, recorded.post.id)
        react(client, channel, ts, SUMMARY_REACTION)
        if event.get("user"):
            tell(
                client, channel, event["user"], read_back_of(recorded, reading), thread_ts=event["thread_ts"]
            )
        return True
    if len(posts) > 1 and event.get("user"):
        links = ", ".join(format_post_link(p) for p in posts)
        tell(
            client,
            channel,
            event["user"],
            render_problem(
                f"This thread's message shares {len(posts)} posts ({links}), so I can't tell which one "
                "that summary is for. Say it with the post's link:",
                "/twoway log <url> comments=N replies=N shares=N likes=N",
            ),
            thread_ts=event["thread_ts"],
        )
        return True
    # A summary-like reply under a message that shares no post is just conversation.
    return False


def _hint(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any]) -> None:
    """Show the writer of a reply under one tracked post the forms twoway reads, and the modal's button."""
    with deps.sessions.begin() as s:
        posts = ledger.thread_post(s, team_id, event["channel"], event["thread_ts"])
    if len(posts) == 1:
        tell(client, event["channel"], event["user"], render_hint(posts[0]), thread_ts=event["thread_ts"])


def edited(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any], us: Us) -> None:
    """Read an edited message's links again: new posts are recorded, those it no longer links withdrawn."""
    message = event.get("message") or {}
    if _is_ours(message, us) or "ts" not in message:
        return
    channel, ts = event["channel"], message["ts"]
    if _is_from_a_bot(message) or not message.get("user"):
        # An integration's reply under a post is kept, and follows its edits; its links are not shares.
        _keep(deps, team_id, channel, message, shares_posts=False, edited=True)
        return
    shares, found = _record_links(deps, team_id, channel, message, edited=True)
    assert shares is not None, "an edit always reads its links again"
    _keep(deps, team_id, channel, message, shares_posts=bool(shares.posts), edited=True)
    if shares.new or shares.withdrawn:
        logger.info("edit of %s: %d new posts, %d withdrawn", ts, len(shares.new), len(shares.withdrawn))
    if shares.posts:
        react(client, channel, ts, TRACKING_REACTION)
        ownership.offer_undo(client, channel, message["user"], shares.new, found)
    elif shares.withdrawn:
        attempt(
            lambda: client.reactions_remove(channel=channel, timestamp=ts, name=TRACKING_REACTION),
            "reactions.remove",
            quiet=("no_reaction", "message_not_found"),
        )


def deleted(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any]) -> None:
    """A deleted message withdraws the posts only it shared, and is no longer kept."""
    ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
    if not ts:
        return
    with deps.sessions.begin() as s:
        withdrawn = ledger.withdraw_message(s, team_id, event["channel"], ts, deps.clock())
        ledger.forget(s, team_id, event["channel"], ts)
    if withdrawn:
        logger.info("deleting %s withdrew %d posts", ts, len(withdrawn))
        live.refresh_soon(deps)
