"""The sites and network accounts a channel names as its own, and the accounts it says aren't.

Each row is one ``(kind, value)`` of a channel: kind ``site`` (a host), ``account`` or ``not_account``
(an account such as ``x.com/acme``). Each function takes a session and a ``team_id`` and filters on
it; none commits. The channel must already exist (see ``ensure_channel``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import BindParameter, Exists, delete, exists, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import ChannelSource


def sources_of(s: Session, team_id: str, channel_id: str) -> list[tuple[str, str]]:
    """Return the channel's ``(kind, value)`` pairs, each kind's in the order they were added."""
    rows = s.execute(
        select(ChannelSource.kind, ChannelSource.value)
        .where(ChannelSource.team_id == team_id, ChannelSource.channel_id == channel_id)
        .order_by(ChannelSource.kind, ChannelSource.added_at, ChannelSource.id)
    )
    return [(kind, value) for kind, value in rows]


def add_sources(
    s: Session,
    team_id: str,
    channel_id: str,
    kind: str,
    values: Iterable[str],
    *,
    by: str | None,
    now: datetime,
) -> list[str]:
    """Add ``values`` of ``kind`` to the channel; return those it didn't have yet."""
    added = []
    for value in values:
        row = {
            "team_id": team_id,
            "channel_id": channel_id,
            "kind": kind,
            "value": value,
            "added_by": by,
            "added_at": now,
        }
        if insert_ignoring_conflicts(s, ChannelSource, row):
            added.append(value)
    return added


def remove_sources(
    s: Session, team_id: str, channel_id: str, kinds: Collection[str], values: Collection[str]
) -> list[tuple[str, str]]:
    """Remove ``values`` of any of ``kinds`` from the channel; return the ``(kind, value)`` pairs removed."""
    if not values:
        return []
    removed = s.execute(
        delete(ChannelSource)
        .where(
            ChannelSource.team_id == team_id,
            ChannelSource.channel_id == channel_id,
            ChannelSource.kind.in_(list(kinds)),
            ChannelSource.value.in_(list(values)),
        )
        .returning(ChannelSource.kind, ChannelSource.value)
    )
    return sorted((kind, value) for kind, value in removed)


def naming_a_site(
    team_id: str | BindParameter[str],
    channel_id: str | BindParameter[str],
    hosts: Collection[str] | BindParameter[list[str]],
) -> Exists:
    """The condition that the channel names one of ``hosts`` as its own site."""
    return exists().where(
        ChannelSource.team_id == team_id,
        ChannelSource.channel_id == channel_id,
        ChannelSource.kind == "site",
        ChannelSource.value.in_(hosts),
    )
