"""Watched posts: which Bluesky and Mastodon posts are read from their networks, the claim of each fetch,
and the comments and snapshots those fetches record.

Each function takes a session and a ``team_id`` first and filters on it. None commits: a claim is
committed before its fetch, so that other replicas see it, and a fetch's outcome is settled in the
transaction that records what it found.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import WATCHED_NETWORKS, Channel, ChannelSource, Comment, Post, Watch

# No fetch is made past this age: a post is watched for its first 30 days.
WATCH_FOR = timedelta(days=30)


@dataclass(frozen=True)
class DueWatch:
    """A watch whose next fetch is due, with what the fetch needs of its post."""

    id: int
    post_id: int
    channel_id: str
    network: str
    url: str
    target: str | None
    anchor_at: datetime
    slot: int
    attempts: int


def create_watches(s: Session, team_id: str, *, now: datetime) -> int:
    """Watch the workspace's Bluesky and Mastodon posts of the last 30 days that aren't watched yet and
    aren't withdrawn, in channels with watching on, due at once; return how many were added.

    A watch another replica adds at the same time is the same one (one per post): the second is ignored.
    """
    unwatched = ~exists().where(Watch.team_id == team_id, Watch.post_id == Post.id)
    rows = s.execute(
        select(Post.id, Post.platform, Post.shared_at)
        .join(Channel, (Channel.team_id == Post.team_id) & (Channel.channel_id == Post.channel_id))
        .where(
            Post.team_id == team_id,
            Channel.team_id == team_id,
            Post.platform.in_(WATCHED_NETWORKS),
            Post.withdrawn_at.is_(None),
            Post.shared_at >= now - WATCH_FOR,
            Channel.watch_enabled,
            unwatched,
        )
    ).all()
    added = 0
    for post_id, network, shared_at in rows:
        values = {
            "team_id": team_id,
            "post_id": post_id,
            "network": network,
            "anchor_at": shared_at,
            "due_at": now,
            "created_at": now,
        }
        added += insert_ignoring_conflicts(s, Watch, values)
    return added


def _watchable(team_id: str) -> ColumnElement[bool]:
    """The condition under which a watch is fetched: its post is not withdrawn and its channel watches."""
    return exists().where(
        Post.team_id == team_id,
        Post.id == Watch.post_id,
        Post.withdrawn_at.is_(None),
        Channel.team_id == team_id,
        Channel.channel_id == Post.channel_id,
        Channel.watch_enabled,
    )


def due_watches(s: Session, team_id: str, *, now: datetime, limit: int = 100) -> list[DueWatch]:
    """Return the workspace's watches due at ``now``, the longest waiting first, but those of withdrawn
    posts and of channels with watching off (they wait, due, until it is on again)."""
    rows = s.execute(
        select(Watch, Post.canonical_url, Post.channel_id)
        .join(Post, Post.id == Watch.post_id)
        .join(Channel, (Channel.team_id == Post.team_id) & (Channel.channel_id == Post.channel_id))
        .where(
            Watch.team_id == team_id,
            Post.team_id == team_id,
            Channel.team_id == team_id,
            Watch.due_at <= now,
            Post.withdrawn_at.is_(None),
            Channel.watch_enabled,
        )
        .order_by(Watch.due_at, Watch.id)
        .limit(limit)
    ).all()
    return [
        DueWatch(
            id=watch.id,
            post_id=watch.post_id,
            channel_id=channel_id,
            network=watch.network,
            url=url,
            target=watch.target,
            anchor_at=watch.anchor_at,
            slot=watch.slot,
            attempts=watch.attempts,
        )
        for watch, url, channel_id in rows
    ]


def claim_watch(
    s: Session, team_id: str, watch_id: int, *, slot: int, replica: str, now: datetime, lease: timedelta
) -> bool:
    """Claim the watch's fetch in ``slot``, in one conditional UPDATE; return whether this replica has it.

    It is claimed only while due and not held by another replica whose claim is younger than ``lease``:
    of replicas racing for it, exactly one sees its row come back. A fetch that succeeded moved
    ``due_at`` to the next slot, so the slot is never fetched twice; one that failed kept it due later.
    """
    free = or_(Watch.claimed_at.is_(None), Watch.claimed_at < now - lease)
    claimed = s.execute(
        update(Watch)
        .where(
            Watch.team_id == team_id,
            Watch.id == watch_id,
            Watch.due_at <= now,
            free,
            _watchable(team_id),
        )
        .values(slot=slot, claimed_by=replica, claimed_at=now)
        .returning(Watch.id)
        .execution_options(synchronize_session=False)
    ).first()
    return claimed is not None


def _settle(
    s: Session, team_id: str, watch_id: int, *, replica: str, claimed_at: datetime, values: dict[str, object]
) -> bool:
    """Apply ``values`` and let the claim go, if the claim is still this replica's own; return whether
    it was (a replica whose lease ran out and whose fetch was taken over changes nothing)."""
    settled = s.execute(
        update(Watch)
        .where(
            Watch.team_id == team_id,
            Watch.id == watch_id,
            Watch.claimed_by == replica,
            Watch.claimed_at == claimed_at,
        )
        .values({**values, "claimed_by": None, "claimed_at": None})
        .returning(Watch.id)
        .execution_options(synchronize_session=False)
    ).first()
    return settled is not None


def settle_fetched(
    s: Session,
    team_id: str,
    watch_id: int,
    *,
    replica: str,
    claimed_at: datetime,
    target: str,
    anchor_at: datetime,
    slot: int,
    due_at: datetime | None,
    now: datetime,
) -> bool:
    """Record a fetch that succeeded: the post's ``target`` and ``anchor_at`` on its network, the slot it
    was in and when the next one starts (None: watching is over). Return False if the claim was lost."""
    values: dict[str, object] = {
        "target": target,
        "anchor_at": anchor_at,
        "slot": slot,
        "due_at": due_at,
        "fetched_at": now,
        "attempts": 0,
        "error": None,
    }
    return _settle(s, team_id, watch_id, replica=replica, claimed_at=claimed_at, values=values)


def settle_failed(
    s: Session,
    team_id: str,
    watch_id: int,
    *,
    replica: str,
    claimed_at: datetime,
    error: str,
    due_at: datetime | None,
) -> bool:
    """Record a fetch that failed: one more attempt, its error, and when to try again (None: never, the
    post is gone). The slot stays. Return False if the claim was lost."""
    values: dict[str, object] = {"attempts": Watch.attempts + 1, "error": error[:1000], "due_at": due_at}
    return _settle(s, team_id, watch_id, replica=replica, claimed_at=claimed_at, values=values)


def finish_watch(s: Session, team_id: str, watch_id: int) -> None:
    """Stop watching a post past its last slot."""
    s.execute(
        update(Watch)
        .where(Watch.team_id == team_id, Watch.id == watch_id, Watch.claimed_at.is_(None))
        .values(due_at=None)
        .execution_options(synchronize_session=False)
    )


def postpone_network(s: Session, team_id: str, network: str, *, now: datetime, until: datetime) -> int:
    """Date the workspace's watches of ``network`` due at ``now`` and not being fetched to ``until`` (the
    network asked to wait); return how many. Nothing else of theirs changes."""
    moved = s.execute(
        update(Watch)
        .where(
            Watch.team_id == team_id,
            Watch.network == network,
            Watch.due_at <= now,
            Watch.claimed_at.is_(None),
        )
        .values(due_at=until)
        .returning(Watch.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(moved)


def own_accounts(s: Session, team_id: str, channel_id: str) -> list[str]:
    """Return the network accounts the channel lists as its own (``bsky.app/profile/acme.bsky.social``…)."""
    return list(
        s.scalars(
            select(ChannelSource.value).where(
                ChannelSource.team_id == team_id,
                ChannelSource.channel_id == channel_id,
                ChannelSource.kind == "account",
            )
        )
    )


def fetched_comments(s: Session, team_id: str, post_id: int) -> dict[str, Comment]:
    """Return the comments read from the post's network, by their reply's id there."""
    rows = s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.post_id == post_id, Comment.remote_id.is_not(None)
        )
    )
    return {comment.remote_id: comment for comment in rows if comment.remote_id is not None}


def flagged_unseen(s: Session, team_id: str, post_id: int) -> list[Comment]:
    """Return the post's comments someone flagged that no fetch has found on the network yet."""
    return list(
        s.scalars(
            select(Comment)
            .where(
                Comment.team_id == team_id,
                Comment.post_id == post_id,
                Comment.flagged_by.is_not(None),
                Comment.remote_id.is_(None),
            )
            .order_by(Comment.id)
        )
    )


def found_flagged(
    s: Session, team_id: str, comment_id: int, *, seen_on: str, remote_id: str, url: str, author: str
) -> bool:
    """Tie a flagged comment to the reply a fetch found it to be, keeping what the flag recorded (its
    link and author, where it gave them); False if another fetch tied that reply first."""
    comment = s.get(Comment, comment_id)
    if comment is None or comment.team_id != team_id:
        return False
    taken = s.scalar(
        select(Comment.id).where(
            Comment.team_id == team_id, Comment.post_id == comment.post_id, Comment.remote_id == remote_id
        )
    )
    if taken is not None:
        return False
    comment.seen_on, comment.remote_id = seen_on, remote_id
    comment.url = comment.url or url
    comment.author = comment.author or author[:255]
    s.flush()
    return True


def open_remote_ids(s: Session, team_id: str, post_id: int) -> set[str]:
    """Return the network ids of the post's open comments read from its network."""
    return set(
        s.scalars(
            select(Comment.remote_id).where(
                Comment.team_id == team_id,
                Comment.post_id == post_id,
                Comment.state == "open",
                Comment.remote_id.is_not(None),
            )
        )
    )


def add_fetched_comment(
    s: Session,
    team_id: str,
    *,
    post_id: int,
    channel_id: str,
    seen_on: str,
    remote_id: str,
    text: str,
    author: str,
    url: str,
    written_at: datetime,
    answered_at: datetime | None,
    now: datetime,
) -> Comment | None:
    """Record a reply read from the post's network as a comment nobody flagged: answered at
    ``answered_at`` if the team already answered it there, else open. Return it, or None when the
    reply was recorded already."""
    values = {
        "team_id": team_id,
        "post_id": post_id,
        "channel_id": channel_id,
        "text": text,
        "author": author[:255],
        "url": url,
        "written_at": written_at,
        "state": "open" if answered_at is None else "answered",
        "answered_at": answered_at,
        "flagged_by": None,
        "flagged_at": now,
        "seen_on": seen_on,
        "remote_id": remote_id,
    }
    if not insert_ignoring_conflicts(s, Comment, values):
        return None
    return s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.post_id == post_id, Comment.remote_id == remote_id
        )
    ).one()


def answer_fetched(s: Session, team_id: str, comment_id: int, *, at: datetime) -> bool:
    """Mark an open comment answered on its network at ``at``, by nobody twoway knows in Slack; return
    False if it was not open."""
    answered = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values(state="answered", answered_at=at, answered_by=None)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return answered is not None


def withdraw_fetched(s: Session, team_id: str, comment_ids: Collection[int]) -> list[int]:
    """Delete open comments read from a network whose replies are gone there; return the ids deleted.

    Unlike a withdrawn flag (`storage.comments.withdraw_flag`), a nudged one goes too, its nudges with
    it (the foreign key cascades): nobody can answer a reply its network no longer shows, and keeping it
    open would keep nudging about it. Answered and dismissed ones stay, as the ledger's history.
    """
    if not comment_ids:
        return []
    deleted = s.execute(
        delete(Comment)
        .where(
            Comment.team_id == team_id,
            Comment.id.in_(list(comment_ids)),
            Comment.state == "open",
            Comment.seen_on.is_not(None),
            # A comment someone flagged and twoway then found on the network is theirs: it stays.
            Comment.flagged_by.is_(None),
        )
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    return [row[0] for row in deleted]
