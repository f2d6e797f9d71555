"""The message shortcut "Flag unanswered comment" (callback `flag_unanswered_comment`) and its modal."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ledger
from bot.deps import Deps, bind
from bot.flagging import chosen_post, find_flagged_message, flag_dialog, flag_message, post_of_message
from bot.links import parse_post_link
from bot.render import Message
from bot.render_ledger import (
    FLAG_MODAL,
    FLAG_MODAL_POST_BLOCK,
    FLAG_MODAL_POST_INPUT,
    FLAG_MODAL_URL_BLOCK,
    FLAG_MODAL_URL_INPUT,
)
from bot.slack_calls import attempt, tell

logger = logging.getLogger(__name__)

FLAG_SHORTCUT = "flag_unanswered_comment"
# The modal carries the message being flagged as "channel|ts" (see render_flag_modal).
_FLAGGED = re.compile(r"(?P<channel>[A-Z0-9]+)\|(?P<ts>[0-9]+\.[0-9]+)")


def flag(
    deps: Deps, ack: Ack, shortcut: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    """Flag the message as an audience comment waiting for an answer."""
    ack()
    team_id = context.team_id
    parts = _flagged_message(shortcut)
    if not team_id or parts is None:
        logger.warning("ignored a flag shortcut that doesn't say which message or who flagged it")
        return
    channel_id, message, user_id = parts
    post = post_of_message(deps, team_id, channel_id, message)
    if post is None:
        view = flag_dialog(
            deps,
            team_id,
            channel_id,
            message,
            "Which post was this comment left on? The message doesn't say: choose the post, or paste "
            "its link.",
        )
        trigger_id = shortcut.get("trigger_id")
        if isinstance(trigger_id, str):
            attempt(lambda: client.views_open(trigger_id=trigger_id, view=view), "views.open")
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


def submitted(
    deps: Deps, ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The modal's answer: the post the comment was left on."""
    team_id = context.team_id
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    metadata = view.get("private_metadata")
    flagged = _FLAGGED.fullmatch(metadata) if isinstance(metadata, str) else None
    value = submitted_url(view)
    choice = submitted_post(view)
    if not team_id or not isinstance(user_id, str) or flagged is None:
        # Slack names the workspace and the user, and twoway's modal the message: nothing to flag without.
        logger.warning("ignored a %s submission that doesn't say who flagged which message", FLAG_MODAL)
        ack()
        return
    if value is None and not _has_block(view, FLAG_MODAL_URL_BLOCK):
        logger.warning("ignored a %s submission without its link input", FLAG_MODAL)
        ack()
        return
    channel_id, ts = flagged["channel"], flagged["ts"]
    # A post chosen wins over a link pasted: the link field says it is used when no post is chosen.
    if choice is not None:
        post_id = _post_id(choice)
        placed = None if post_id is None else chosen_post(deps, team_id, channel_id, post_id)
        if placed is None:
            ack(
                response_action="errors",
                errors={
                    FLAG_MODAL_POST_BLOCK: "twoway doesn't track that post here any more; choose another."
                },
            )
            return
    else:
        if not value and _has_block(view, FLAG_MODAL_POST_BLOCK):
            ack(
                response_action="errors",
                errors={
                    FLAG_MODAL_POST_BLOCK: "Choose the post the comment was left on, or paste its link below."
                },
            )
            return
        link = parse_post_link(value.strip()) if value else None
        if link is None:
            ack(
                response_action="errors",
                errors={FLAG_MODAL_URL_BLOCK: "That isn't a link to a published post."},
            )
            return
        with deps.sessions.begin() as s:
            # Only a post of the message's own channel: another channel's, private perhaps, is not in reach.
            placed = ledger.post_within(s, team_id, ledger.Reach.channel(channel_id), link.canonical_url)
        if placed is None:
            ack(
                response_action="errors",
                errors={
                    FLAG_MODAL_URL_BLOCK: "twoway isn't tracking that post here: "
                    "share it in this channel first."
                },
            )
            return
    ack()
    message = find_flagged_message(deps, client, team_id, channel_id, ts, user_id)
    if message is None:
        return
    flag_message(
        deps,
        client,
        team_id,
        channel_id=channel_id,
        message=message,
        post=placed.post,
        flagged_by=user_id,
        reply=lambda notice: tell(client, channel_id, user_id, notice),
    )


def register(app: App, deps: Deps) -> None:
    app.shortcut(FLAG_SHORTCUT)(bind(flag, deps))
    app.view(FLAG_MODAL)(bind(submitted, deps))


def submitted_url(view: dict[str, Any]) -> str | None:
    """What was typed in the modal's link input ("" when nothing was); None when it isn't there as text."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(FLAG_MODAL_URL_BLOCK) if isinstance(values, dict) else None
    field = block.get(FLAG_MODAL_URL_INPUT) if isinstance(block, dict) else None
    if not isinstance(field, dict):
        return None
    # Slack sends an empty input as null.
    value = field.get("value")
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def submitted_post(view: dict[str, Any]) -> str | None:
    """The value of the post chosen in the modal's select (a post's id), or None when none was chosen."""
    values = _field(view.get("state"), "values")
    chosen = _field(_field(_field(values, FLAG_MODAL_POST_BLOCK), FLAG_MODAL_POST_INPUT), "selected_option")
    value = _field(chosen, "value")
    return value if isinstance(value, str) else None


def _post_id(value: str) -> int | None:
    """A post's id as the select's option carries it; None for anything twoway didn't put there."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _has_block(view: dict[str, Any], block_id: str) -> bool:
    """Whether the view shows the block, so that an error can be shown under it."""
    blocks = view.get("blocks")
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("block_id") == block_id for b in blocks
    )


def _field(container: object, name: str) -> Any:
    return container.get(name) if isinstance(container, dict) else None


def _flagged_message(shortcut: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    """The channel, message and flagging user of a message shortcut, if Slack's payload has them."""
    channel_id, message, user_id = (
        _field(shortcut.get("channel"), "id"),
        shortcut.get("message"),
        _field(shortcut.get("user"), "id"),
    )
    if not isinstance(channel_id, str) or not isinstance(user_id, str) or not isinstance(message, dict):
        return None
    if not isinstance(message.get("ts"), str):
        return None
    return channel_id, message, user_id
