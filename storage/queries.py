"""Typed query functions. Each takes a session and a ``team_id`` first, and filters on it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base, Channel


def insert_ignoring_conflicts(s: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert one row unless it collides with an existing one; return True if it was inserted.

    ON CONFLICT DO NOTHING lets concurrent callers race without an IntegrityError
    poisoning either transaction.
    """
    statement = _insert_ignoring(model, s.get_bind().dialect.name, tuple(values))
    # RETURNING, unlike rowcount, reports the insert the same way on every driver.
    return s.execute(statement, values).first() is not None


@functools.cache
def _insert_ignoring(model: type[Base], dialect: str, columns: tuple[str, ...]) -> Insert:
    """The INSERT … ON CONFLICT DO NOTHING RETURNING of ``columns``, built once for each shape.

    Claims and signatures are inserted on the path to Slack's acknowledgement: a statement built
    anew each time, with its values inline, cost more to build and to key for the compiled cache
    than to run. This one takes its values as parameters, and its cache key is computed once.
    """
    table = model.__table__
    assert isinstance(table, Table)
    insert: Callable[[Table], Insert]
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        raise NotImplementedError(f"twoway storage does not support {dialect}")
    parameters = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return insert(table).values(parameters).on_conflict_do_nothing().returning(*table.primary_key.columns)


def get_channel(s: Session, team_id: str, channel_id: str) -> Channel | None:
    """Return the team's channel with this Slack id, or None if twoway has not seen it."""
    return s.scalars(
        select(Channel).where(Channel.team_id == team_id, Channel.channel_id == channel_id)
    ).one_or_none()


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
    are not overwritten.
    """
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


def count_rows(s: Session, team_id: str) -> dict[str, int]:
    """Return the number of the team's rows in every table, keyed by table name."""
    counts: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = (
            s.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id)) or 0
        )
    return counts


def delete_team_rows(s: Session, team_id: str) -> None:
    """Delete every row of the team in every table, children first so that no foreign key objects."""
    for table in reversed(Base.metadata.sorted_tables):
        s.execute(delete(table).where(table.c.team_id == team_id))
