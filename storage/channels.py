"""Channels twoway knows, with their settings, and the workspaces that have any.

Each function takes a session and a ``team_id`` first and filters on it, except ``all_team_ids``,
which looks across workspaces. None commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BindParameter, ScalarSelect, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Channel

# A channel's reactions until its settings change them: flag, resolve, dismiss.
DEFAULT_EMOJIS = frozenset(
    str(getattr(column.server_default, "arg", ""))
    for column in (
        Channel.__table__.c.flag_emoji,
        Channel.__table__.c.resolve_emoji,
        Channel.__table__.c.dismiss_emoji,
    )
)

# The columns people change (`/twoway settings`, `/twoway schedule`); the rest of the row is twoway's.
CHANNEL_SETTINGS = frozenset(
    {
        "unanswered_threshold_hours",
        "claim_hours",
        "flag_emoji",
        "resolve_emoji",
        "dismiss_emoji",
        "digest_weekday",
        "digest_minute",
        "timezone",
        "digest_enabled",
        "watch_enabled",
    }
)


def all_team_ids(s: Session) -> list[str]:
    """Return every workspace that has a channel twoway knows, sorted.

    That is every workspace with anything in the ledger: posts, snapshots, comments and digest runs
    all hang off a channel through foreign keys.
    """
    return list(s.scalars(select(Channel.team_id).distinct().order_by(Channel.team_id)))


def team_channels(s: Session, team_id: str) -> list[Channel]:
    """Return the team's channels, ordered by Slack id."""
    return list(s.scalars(select(Channel).where(Channel.team_id == team_id).order_by(Channel.channel_id)))


def get_channel(s: Session, team_id: str, channel_id: str) -> Channel | None:
    """Return the team's channel with this Slack id, or None if twoway has not seen it."""
    return s.scalars(
        select(Channel).where(Channel.team_id == team_id, Channel.channel_id == channel_id)
    ).one_or_none()


def emojis_of(
    team_id: str | BindParameter[str], channel_id: str | BindParameter[str]
) -> list[ScalarSelect[str]]:
    """The channel's flag, resolve and dismiss emojis as expressions, each NULL when twoway has not seen
    the channel (then `DEFAULT_EMOJIS` stand), for a statement that asks more at once."""
    where = (Channel.team_id == team_id, Channel.channel_id == channel_id)
    return [
        select(column).where(*where).scalar_subquery()
        for column in (Channel.flag_emoji, Channel.resolve_emoji, Channel.dismiss_emoji)
    ]


def ensure_channel(
    s: Session,
    team_id: str,
    channel_id: str,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    now: datetime,
) -> Channel:
    """Return the team's channel, creating it with default settings if it is new.

    An existing channel is returned as it is: its settings, time zone and name
    are not overwritten. It is read first, since almost every event's channel exists already: the
    INSERT, and the read after it, are for the channel's first event.
    """
    channel = get_channel(s, team_id, channel_id)
    if channel is not None:
        return channel
    insert_ignoring_conflicts(
        s,
        Channel,
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "name": name,
            "timezone": timezone,
            "created_at": now,
            "updated_at": now,
        },
    )
    channel = get_channel(s, team_id, channel_id)
    assert channel is not None, "inserted or already present in this transaction"
    return channel


def set_presence(
    s: Session,
    team_id: str,
    channel_id: str,
    *,
    member: bool | None = None,
    archived: bool | None = None,
    now: datetime,
) -> Channel | None:
    """Record that twoway joined or left the team's channel, or that it was archived or unarchived.

    Returns the channel, or None if twoway has never known it (then there is nothing to stop).
    """
    channel = get_channel(s, team_id, channel_id)
    if channel is None:
        return None
    if member is not None:
        channel.bot_is_member = member
    if archived is not None:
        channel.is_archived = archived
    channel.updated_at = now
    return channel


def update_channel_settings(
    s: Session, team_id: str, channel_id: str, changes: dict[str, object], *, now: datetime
) -> Channel | None:
    """Apply setting changes to the team's channel and return it, or None if it is unknown."""
    unknown = set(changes) - CHANNEL_SETTINGS
    if unknown:
        raise ValueError(f"not channel settings: {sorted(unknown)}")
    channel = get_channel(s, team_id, channel_id)
    if channel is None:
        return None
    for name, value in changes.items():
        setattr(channel, name, value)
    if changes:
        channel.updated_at = now
    return channel
