"""The message shortcut "Flag unanswered comment" (callback `flag_unanswered_comment`) and its modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.app import Deps
from bot.links import post_link
from bot.render import Message
from bot.render_ledger import (
    FLAG_MODAL,
    FLAG_MODAL_URL_BLOCK,
    FLAG_MODAL_URL_INPUT,
    render_flag_modal,
)
from handlers.calls import attempt, tell
from handlers.flagging import flag_message, post_of_message, read_flagged_message
from storage.ledger import post_by_url

logger = logging.getLogger(__name__)

FLAG_SHORTCUT = "flag_unanswered_comment"


def register(app: App, deps: Deps) -> None:
    @app.shortcut(FLAG_SHORTCUT)
    def flag(
        ack: Ack, shortcut: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        """Flag the message as an audience comment waiting for an answer."""
        ack()
        team_id = context.team_id
        if not team_id:
            return
        channel_id, message, user_id = shortcut["channel"]["id"], shortcut["message"], shortcut["user"]["id"]
        post = post_of_message(deps, team_id, channel_id, message)
        if post is None:
            view = render_flag_modal(
                channel_id,
                message["ts"],
                "Which post was this comment left on? The message doesn't link to a post twoway tracks, "
                "and its thread isn't under one.",
            )
            attempt(lambda: client.views_open(trigger_id=shortcut["trigger_id"], view=view), "views.open")
            return

        def reply(notice: Message) -> None:
            respond(response_type="ephemeral", **notice)

        flag_message(
            deps,
            client,
            team_id,
            channel_id=channel_id,
            message=message,
            post=post,
            flagged_by=user_id,
            reply=reply,
        )

    @app.view(FLAG_MODAL)
    def submitted(
        ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        """The modal's answer: the post the comment was left on."""
        team_id = context.team_id
        value = view["state"]["values"][FLAG_MODAL_URL_BLOCK][FLAG_MODAL_URL_INPUT].get("value") or ""
        link = post_link(value.strip())
        if link is None or not team_id:
            ack(
                response_action="errors",
                errors={FLAG_MODAL_URL_BLOCK: "That isn't a link to a published post."},
            )
            return
        with deps.sessions.begin() as s:
            post = post_by_url(s, team_id, link.canonical_url)
        if post is None:
            ack(
                response_action="errors",
                errors={
                    FLAG_MODAL_URL_BLOCK: "twoway isn't tracking that post: share it in a channel first."
                },
            )
            return
        ack()
        channel_id, _, ts = view.get("private_metadata", "").partition("|")
        user_id = body["user"]["id"]
        message = read_flagged_message(client, channel_id, ts, user_id)
        if message is None:
            return
        flag_message(
            deps,
            client,
            team_id,
            channel_id=channel_id,
            message=message,
            post=post,
            flagged_by=user_id,
            reply=lambda notice: tell(client, channel_id, user_id, notice),
        )
