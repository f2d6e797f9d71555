"""Reactions on channel messages: `reaction_added` and `reaction_removed`.

Each channel has three reactions (`/twoway settings`): flag (default :speech_balloon:) records the
message as an unanswered comment, resolve (:white_check_mark:) marks it answered, dismiss
(:no_entry_sign:) says it needs no reply. Taking the flag back before anything happened withdraws it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import Deps
from bot.render_ledger import render_problem
from handlers.calls import tell
from handlers.flagging import (
    close_and_notify,
    flag_message,
    post_of_message,
    read_flagged_message,
    withdraw_and_notify,
)
from storage.channels import ensure_channel
from storage.comments import comment_of_message, comment_of_notice
from storage.models import Channel

logger = logging.getLogger(__name__)


def _emoji(reaction: str) -> str:
    # A skin tone arrives as "thumbsup::skin-tone-2"; the setting names the base emoji.
    return reaction.split("::", 1)[0]


def register(app: App, deps: Deps) -> None:
    def channel_settings(team_id: str, channel_id: str) -> Channel:
        with deps.sessions.begin() as s:
            return ensure_channel(s, team_id, channel_id, timezone=deps.config.timezone, now=deps.clock())

    @app.event("reaction_added")
    def added(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """Flag, resolve or dismiss a comment by the channel's reactions."""
        item = event.get("item") or {}
        team_id = context.team_id
        if item.get("type") != "message" or not team_id or event.get("user") == context.bot_user_id:
            return
        channel = channel_settings(team_id, item["channel"])
        reaction = _emoji(event.get("reaction", ""))
        if reaction == channel.flag_emoji:
            _flag(deps, client, team_id, item["channel"], item["ts"], event["user"])
        elif reaction in (channel.resolve_emoji, channel.dismiss_emoji):
            state: Literal["answered", "dismissed"] = (
                "answered" if reaction == channel.resolve_emoji else "dismissed"
            )
            with deps.sessions.begin() as s:
                comment = comment_of_message(s, team_id, item["channel"], item["ts"]) or comment_of_notice(
                    s, team_id, item["channel"], item["ts"]
                )
            if comment is not None:
                close_and_notify(deps, client, team_id, comment.id, state=state, by=event["user"])

    @app.event("reaction_removed")
    def removed(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """The last flag reaction taken back withdraws the flag, if nothing else happened to the comment."""
        item = event.get("item") or {}
        team_id = context.team_id
        if item.get("type") != "message" or not team_id:
            return
        channel = channel_settings(team_id, item["channel"])
        if _emoji(event.get("reaction", "")) != channel.flag_emoji:
            return
        with deps.sessions.begin() as s:
            comment = comment_of_message(s, team_id, item["channel"], item["ts"])
        if comment is None or comment.state != "open":
            return
        if _still_flagged(client, item["channel"], item["ts"], channel.flag_emoji):
            return
        withdraw_and_notify(deps, client, team_id, comment, event["user"])


def _still_flagged(client: WebClient, channel_id: str, ts: str, flag_emoji: str) -> bool:
    """Whether someone else's flag reaction is still on the message (then the flag stands)."""
    try:
        found = client.reactions_get(channel=channel_id, timestamp=ts, full=True)
    except SlackApiError as error:
        # Unsure whether others still flag it: keep the comment rather than lose it.
        logger.warning("could not read the reactions of %s: %s", ts, error.response.get("error"))
        return True
    reactions = (found.get("message") or {}).get("reactions") or []
    return any(_emoji(r.get("name", "")) == flag_emoji and r.get("count", 0) > 0 for r in reactions)


def _flag(deps: Deps, client: WebClient, team_id: str, channel_id: str, ts: str, user: str) -> None:
    message = read_flagged_message(client, channel_id, ts, user)
    if message is None:
        return
    post = post_of_message(deps, team_id, channel_id, message)
    if post is None:
        tell(
            client,
            channel_id,
            user,
            render_problem(
                "I can't tell which post that comment was left on: the message has no link to a post twoway "
                "tracks, and its thread isn't under one. Use the message shortcut “Flag unanswered comment”, "
                "or the command:",
                "/twoway flag <url> <comment text…> [by <author>]",
            ),
        )
        return
    flag_message(
        deps,
        client,
        team_id,
        channel_id=channel_id,
        message=message,
        post=post,
        flagged_by=user,
        reply=lambda notice: tell(client, channel_id, user, notice),
    )
