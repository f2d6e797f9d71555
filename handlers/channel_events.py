"""Channel membership and mentions: `member_joined_channel` and `app_mention`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import ledger
from bot.deps import Deps, bind
from bot.render import render_channel_intro, render_mention_reply
from bot.slack_calls import post_message


def joined(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """When twoway itself is added to a channel, start its ledger and say hello once."""
    if event.get("user") != context.bot_user_id:
        return
    with deps.sessions.begin() as s:
        ledger.channel(
            s,
            context.team_id or event["team"],
            event["channel"],
            timezone=deps.config.timezone,
            now=deps.clock(),
        )
    post_message(client, channel=event["channel"], **render_channel_intro())


def mentioned(deps: Deps, event: dict[str, Any], client: WebClient) -> None:
    """Answer an @-mention in its thread with what twoway is and where to start."""
    post_message(
        client,
        channel=event["channel"],
        thread_ts=event.get("thread_ts") or event["ts"],
        **render_mention_reply(event["user"]),
    )


def register(app: App, deps: Deps) -> None:
    app.event("member_joined_channel")(bind(joined, deps))
    app.event("app_mention")(bind(mentioned, deps))
