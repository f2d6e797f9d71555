"""Reactions on channel messages: `reaction_added` and `reaction_removed`.

Each channel has three reactions (`/twoway settings`): flag (default :speech_balloon:) records the
message as an unanswered comment, resolve (:white_check_mark:) marks it answered, dismiss
(:no_entry_sign:) says it needs no reply. Taking the flag back before anything happened withdraws it.
:x: on a message that shares posts takes them back as not the team's (`bot.ownership`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import ledger, ownership
from bot.deps import Deps, bind
from bot.flagging import base_emoji, close_and_notify, flag_reacted, still_flagged, withdraw_and_notify
from bot.sources import NOT_OURS_REACTION

logger = logging.getLogger(__name__)


def added(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Flag, resolve or dismiss a comment by the channel's reactions; take back posts by :x:."""
    item = event.get("item") or {}
    team_id = context.team_id
    if item.get("type") != "message" or not team_id or event.get("user") == context.bot_user_id:
        return
    with deps.sessions.begin() as s:
        channel = ledger.channel(s, team_id, item["channel"], timezone=deps.config.timezone, now=deps.clock())
    reaction = base_emoji(event.get("reaction", ""))
    if reaction == channel.flag_emoji:
        flag_reacted(deps, client, team_id, item["channel"], item["ts"], event["user"])
    elif reaction in (channel.resolve_emoji, channel.dismiss_emoji):
        state: Literal["answered", "dismissed"] = (
            "answered" if reaction == channel.resolve_emoji else "dismissed"
        )
        with deps.sessions.begin() as s:
            comment = ledger.comment_reacted_to(s, team_id, item["channel"], item["ts"])
        if comment is not None:
            close_and_notify(
                deps,
                client,
                team_id,
                ledger.Reach.channel(item["channel"]),
                comment.id,
                state=state,
                by=event["user"],
            )
    elif reaction == NOT_OURS_REACTION:
        ownership.not_ours_by_reaction(deps, client, team_id, item["channel"], item["ts"], event["user"])


def removed(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """The last flag reaction taken back withdraws the flag, if nothing else happened to the comment."""
    item = event.get("item") or {}
    team_id = context.team_id
    if item.get("type") != "message" or not team_id:
        return
    with deps.sessions.begin() as s:
        channel = ledger.channel(s, team_id, item["channel"], timezone=deps.config.timezone, now=deps.clock())
    if base_emoji(event.get("reaction", "")) != channel.flag_emoji:
        return
    with deps.sessions.begin() as s:
        comment = ledger.comment_of(s, team_id, item["channel"], item["ts"])
    if comment is None or comment.state != "open":
        return
    if still_flagged(client, item["channel"], item["ts"], channel.flag_emoji):
        return
    withdraw_and_notify(deps, client, team_id, comment, event["user"])


def register(app: App, deps: Deps) -> None:
    app.event("reaction_added")(bind(added, deps))
    app.event("reaction_removed")(bind(removed, deps))
