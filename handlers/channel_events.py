"""twoway's channels coming and going, and mentions.

`member_joined_channel` with twoway as the member starts a channel's ledger, or starts its digests and
nudges again. Removing twoway (`channel_left`, `group_left`, or `member_left_channel` naming it) and
archiving the channel (`channel_archive`, `group_archive`) stop them; unarchiving brings them back.
Deleting a channel (`channel_deleted`, `group_deleted`) deletes its ledger. A rename needs nothing:
the ledger knows channels by id. Slack sends a public channel's events as `channel_*` and a private
one's as `group_*` (https://docs.slack.dev/reference/events/channel_left and its siblings).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import ledger
from bot.deps import Deps, bind
from bot.render import render_channel_intro, render_mention_reply
from bot.slack_calls import post_message
from bot.welcome import arrive, digest_line

logger = logging.getLogger(__name__)


def _team(context: BoltContext, event: dict[str, Any]) -> str | None:
    return context.team_id or event.get("team")


def _reschedule(deps: Deps, team_id: str, channel_id: str) -> None:
    if deps.schedules is not None:
        deps.schedules.sync_channel(team_id, channel_id)


def joined(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """When twoway itself is added to a channel, start (or restart) its ledger and say hello, and when
    its digests post: a new channel's in the time zone of whoever invited twoway."""
    team_id = _team(context, event)
    if event.get("user") != context.bot_user_id or not team_id:
        return
    inviter = event.get("inviter")
    arrival = arrive(
        deps, client, team_id, event["channel"], by=inviter if isinstance(inviter, str) else None
    )
    _reschedule(deps, team_id, event["channel"])
    if arrival.news:
        post_message(client, channel=event["channel"], **render_channel_intro(digest_line(arrival)))


def left(deps: Deps, event: dict[str, Any], context: BoltContext) -> None:
    """twoway was removed from a channel: no more digests or nudges there, until it is invited back."""
    team_id = _team(context, event)
    # member_left_channel is about anyone; channel_left and group_left only ever about twoway.
    if event["type"] == "member_left_channel" and event.get("user") != context.bot_user_id:
        return
    if not team_id or not isinstance(event.get("channel"), str):
        return
    with deps.sessions.begin() as s:
        ledger.left(s, team_id, event["channel"], now=deps.clock())
    _reschedule(deps, team_id, event["channel"])
    logger.info("twoway left %s/%s: its digests and nudges stop", team_id, event["channel"])


def archive_changed(deps: Deps, event: dict[str, Any], context: BoltContext) -> None:
    """A channel archived stops its digests and nudges; unarchived, they start again."""
    team_id = _team(context, event)
    if not team_id or not isinstance(event.get("channel"), str):
        return
    archived = event["type"].endswith("_archive")
    with deps.sessions.begin() as s:
        ledger.archived(s, team_id, event["channel"], archived=archived, now=deps.clock())
    _reschedule(deps, team_id, event["channel"])


def deleted(deps: Deps, event: dict[str, Any], context: BoltContext) -> None:
    """A deleted channel takes its ledger with it: nothing there can be answered or shown any more."""
    team_id = _team(context, event)
    if not team_id or not isinstance(event.get("channel"), str):
        return
    with deps.sessions.begin() as s:
        ledger.forget_channel(s, team_id, event["channel"])
    _reschedule(deps, team_id, event["channel"])
    logger.info("channel %s/%s was deleted, and its ledger with it", team_id, event["channel"])


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
    for kind in ("member_left_channel", "channel_left", "group_left"):
        app.event(kind)(bind(left, deps))
    for kind in ("channel_archive", "group_archive", "channel_unarchive", "group_unarchive"):
        app.event(kind)(bind(archive_changed, deps))
    for kind in ("channel_deleted", "group_deleted"):
        app.event(kind)(bind(deleted, deps))
    app.event("app_mention")(bind(mentioned, deps))
