"""Channel homes: which installation's ledger holds each channel's rows.

A channel shared by several workspaces that installed twoway has one id in all of them, and one home:
the installation whose ``team_id`` every row of the channel carries. Homes are looked up by channel id
alone, across workspaces, since the question is which workspace the channel belongs to; everything the
home answers is then read and written under its ``team_id``. None commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, Exists, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    Channel,
    ChannelHome,
    Comment,
    DigestRun,
    KeptMessage,
    Nudge,
    Post,
    PostShare,
    Snapshot,
)


@dataclass(frozen=True)
class Home:
    """The installation a channel's ledger lives under."""

    team_id: str
    enterprise_id: str | None


def home_of(s: Session, channel_id: str) -> Home | None:
    """Return the channel's home, or None when no installation has claimed it yet."""
    row = s.get(ChannelHome, channel_id)
    return None if row is None else Home(row.team_id, row.enterprise_id)


def homed_elsewhere(team_id: str | BindParameter[str], channel_id: str | BindParameter[str]) -> Exists:
    """The condition that the channel's home is another workspace than ``team_id``, for a statement
    that asks more at once and is built once, its values bound (`bot.relevance.LedgerView`)."""
    return exists().where(ChannelHome.channel_id == channel_id, ChannelHome.team_id != team_id)


def claim_home(s: Session, channel_id: str, team_id: str, enterprise_id: str | None, now: datetime) -> Home:
    """Return the channel's home, making ``team_id`` its home if it has none; the first claim wins
    across replicas (the primary key on ``channel_id`` refuses a second)."""
    found = home_of(s, channel_id)
    if found is not None:
        return found
    try:
        with s.begin_nested():
            s.execute(
                insert(ChannelHome).values(
                    channel_id=channel_id, team_id=team_id, enterprise_id=enterprise_id, claimed_at=now
                )
            )
    except IntegrityError:
        pass
    claimed = home_of(s, channel_id)
    assert claimed is not None
    return claimed


def take_over_home(
    s: Session, channel_id: str, old_team: str, team_id: str, enterprise_id: str | None, now: datetime
) -> bool:
    """Make ``team_id`` the channel's home if ``old_team`` still is it.

    Returns False when another replica moved it first."""
    moved = s.execute(
        update(ChannelHome)
        .where(ChannelHome.channel_id == channel_id, ChannelHome.team_id == old_team)
        .values(team_id=team_id, enterprise_id=enterprise_id, claimed_at=now)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def move_channel_rows(s: Session, channel_id: str, old_team: str, team_id: str) -> None:
    """Move one channel's ledger (its channel row, posts, shares, snapshots, comments, nudges and
    digest runs) from ``old_team`` to ``team_id``. Raises IntegrityError when ``team_id`` already holds
    one of the channel's posts under its own channels (a post is one per workspace); the caller's
    savepoint then leaves both ledgers as they were."""
    old = s.scalar(select(Channel).where(Channel.team_id == old_team, Channel.channel_id == channel_id))
    if old is None:
        return
    has_row = s.scalar(select(Channel.id).where(Channel.team_id == team_id, Channel.channel_id == channel_id))
    if has_row is None:
        # Children point at (team_id, channel_id): the new channel row comes first, the old goes last.
        columns = {c.key: getattr(old, c.key) for c in Channel.__table__.columns if c.key != "id"}
        s.execute(insert(Channel).values({**columns, "team_id": team_id}))
    post_ids = list(s.scalars(select(Post.id).where(Post.team_id == old_team, Post.channel_id == channel_id)))
    comment_ids = list(
        s.scalars(select(Comment.id).where(Comment.team_id == old_team, Comment.channel_id == channel_id))
    )
    # Rows that name the channel, then rows that hang off a moved post or comment.
    for model in (Post, PostShare, Comment, DigestRun, KeptMessage):
        s.execute(
            update(model)
            .where(model.team_id == old_team, model.channel_id == channel_id)
            .values(team_id=team_id)
        )
    for child, parent_key, ids in (
        (Snapshot, Snapshot.post_id, post_ids),
        (Nudge, Nudge.comment_id, comment_ids),
    ):
        if ids:
            s.execute(
                update(child).where(child.team_id == old_team, parent_key.in_(ids)).values(team_id=team_id)
            )
    s.execute(delete(Channel).where(Channel.team_id == old_team, Channel.channel_id == channel_id))
