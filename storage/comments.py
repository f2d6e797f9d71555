"""Comments flagged as needing an answer, and twoway's notice of each in its Slack thread.

Each function takes a session and a ``team_id`` first and filters on it. None commits: the
caller's ``with sessions.begin()`` is the unit of work, so nothing is half-written.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, select, union, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.leases import Marker
from storage.models import Comment, Nudge, Post


def flag_comment(
    s: Session,
    team_id: str,
    *,
    post: Post,
    channel_id: str,
    text: str,
    author: str | None,
    flagged_by: str,
    flagged_at: datetime,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    written_at: datetime | None = None,
    url: str | None = None,
) -> tuple[Comment, bool]:
    """Record an open comment on ``post``; return it and whether it is new.

    Flagging the same Slack message again returns the comment it already is. A comment flagged by
    command names no message: the same words by the same author on the same post are the comment
    already recorded, whoever flags them and however many at once. A comment's own link (``url``) names
    it whichever way it is flagged: the same link on the same post is the comment already recorded.
    """
    values = {
        "team_id": team_id,
        "post_id": post.id,
        "channel_id": channel_id,
        "text": text,
        "author": author,
        "written_at": written_at,
        "state": "open",
        "flagged_by": flagged_by,
        "flagged_at": flagged_at,
        "message_ts": message_ts,
        "thread_ts": thread_ts,
        "url": url,
    }
    if message_ts is None or url is not None:
        # Flags of one post by command, or by a comment's link, take turns on its row, so that two at
        # once can't both find no comment and both add one. (SQLite has one writer at a time already and
        # ignores FOR UPDATE.)
        s.execute(select(Post.id).where(Post.team_id == team_id, Post.id == post.id).with_for_update())
        # A comment's own link names it, however it is flagged; without one, the same words by the same
        # author are the same comment.
        same_comment = (
            Comment.url == url
            if url is not None
            else and_(
                Comment.text == text,
                Comment.author.is_(None) if author is None else Comment.author == author,
            )
        )
        same = s.scalars(
            select(Comment)
            .where(Comment.team_id == team_id, Comment.post_id == post.id, same_comment)
            .order_by(Comment.id)
            .limit(1)
        ).first()
        if same is not None:
            return same, False
    seen = _seen_already(s, team_id, post.id, text, url)
    if seen is not None:
        return seen, False
    if message_ts is None:
        comment = Comment(**values)
        s.add(comment)
        s.flush()
        return comment, True
    created = insert_ignoring_conflicts(s, Comment, values)
    found = comment_of_message(s, team_id, channel_id, message_ts)
    assert found is not None, "inserted or already present in this transaction"
    return found, created


# A reply's words must be at least this long to be recognised inside a quote of them.
SAME_WORDS_MIN = 8


def plain_words(text: str) -> str:
    """``text`` as its words alone: lower case, punctuation and spacing gone (``@`` and ``.`` kept, which
    handles are made of)."""
    return " ".join(re.sub(r"[^\w@.]+", " ", text.lower()).split())


def quotes_reply(quote: str, quote_url: str | None, reply_text: str, reply_url: str | None) -> bool:
    """Whether a comment someone flagged by quoting it is a reply read from the post's network: the same
    link, or the reply's words within the quote (which may add its author, ``@alex: …``, or quote marks)."""
    if quote_url is not None and quote_url == reply_url:
        return True
    said = plain_words(reply_text)
    return len(said) >= SAME_WORDS_MIN and said in plain_words(quote)


def _seen_already(s: Session, team_id: str, post_id: int, text: str, url: str | None) -> Comment | None:
    """The reply twoway read on the post's network that a flag's quote is, if it read it first."""
    seen = s.scalars(
        select(Comment)
        .where(
            Comment.team_id == team_id,
            Comment.post_id == post_id,
            Comment.flagged_by.is_(None),
            Comment.remote_id.is_not(None),
        )
        .order_by(Comment.id)
    )
    return next((c for c in seen if quotes_reply(text, url, c.text, c.url)), None)


# notice_ts while one replica posts the notice: only the one whose claim succeeded posts.
NOTICE_PENDING = "pending"
NOTICES = Marker(Comment, key=("team_id", "id"), column="notice_ts", marker=NOTICE_PENDING)


def claim_notice(s: Session, team_id: str, comment_id: int) -> bool:
    """Claim the posting of the comment's notice; return False if it is posted or being posted already."""
    return NOTICES.claim(s, (team_id, comment_id))


def settle_notice(s: Session, team_id: str, comment_id: int, notice_ts: str | None) -> None:
    """Record the posted notice's ts, or give the claim back (None) when posting failed."""
    NOTICES.settle(s, (team_id, comment_id), notice_ts)


def get_comment(s: Session, team_id: str, comment_id: int) -> Comment | None:
    """Return the team's comment with this id, or None."""
    return s.scalars(
        select(Comment).where(Comment.team_id == team_id, Comment.id == comment_id)
    ).one_or_none()


def comment_of_message(s: Session, team_id: str, channel_id: str, message_ts: str) -> Comment | None:
    """Return the comment flagged on this Slack message, or None."""
    return s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.channel_id == channel_id, Comment.message_ts == message_ts
        )
    ).one_or_none()


def comment_of_notice(s: Session, team_id: str, channel_id: str, notice_ts: str) -> Comment | None:
    """Return the comment whose twoway notice is this message, or None."""
    return s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.channel_id == channel_id, Comment.notice_ts == notice_ts
        )
    ).first()


def comment_of_nudge(s: Session, team_id: str, channel_id: str, nudge_ts: str) -> Comment | None:
    """Return the comment one of twoway's nudges in the channel is about, or None."""
    return s.scalars(
        select(Comment)
        .join(Nudge, Nudge.comment_id == Comment.id)
        .where(
            Comment.team_id == team_id,
            Nudge.team_id == team_id,
            Comment.channel_id == channel_id,
            Nudge.message_ts == nudge_ts,
        )
    ).first()


def close_comment(s: Session, team_id: str, comment_id: int, *, state: str, by: str, at: datetime) -> bool:
    """Mark an open comment answered or dismissed; return False if it was not open (or not the team's)."""
    if state not in ("answered", "dismissed"):
        raise ValueError(f"a comment closes as answered or dismissed, not {state!r}")
    columns = {"answered": ("answered_by", "answered_at"), "dismissed": ("dismissed_by", "dismissed_at")}[
        state
    ]
    closed = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values({"state": state, columns[0]: by, columns[1]: at})
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return closed is not None


def snooze_comment(s: Session, team_id: str, comment_id: int, *, until: datetime) -> Comment | None:
    """Hold an open comment's nudges until ``until``; return it, or None if it isn't open."""
    snoozed = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values(snoozed_until=until)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return get_comment(s, team_id, comment_id) if snoozed is not None else None


def withdraw_flag(s: Session, team_id: str, comment_id: int) -> bool:
    """Delete an open comment nothing has happened to yet (no nudge sent); return whether it was deleted."""
    nudged = exists().where(Nudge.team_id == team_id, Nudge.comment_id == Comment.id)
    deleted = s.execute(
        delete(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open", ~nudged)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return deleted is not None


def open_comments(
    s: Session,
    team_id: str,
    *,
    channel_id: str | None = None,
    channel_ids: Collection[str] | None = None,
    owner: str | None = None,
    limit: int | None = None,
) -> list[tuple[Comment, Post]]:
    """Return open comments with their posts (in a channel, or in one of ``channel_ids``), oldest first
    (by when written, else when flagged)."""
    query = (
        select(Comment, Post)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.team_id == team_id, Post.team_id == team_id, Comment.state == "open")
        .order_by(func.coalesce(Comment.written_at, Comment.flagged_at), Comment.id)
    )
    if channel_id is not None:
        query = query.where(Comment.channel_id == channel_id)
    if channel_ids is not None:
        query = query.where(Comment.channel_id.in_(list(channel_ids)))
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    if limit is not None:
        query = query.limit(limit)
    return [(comment, post) for comment, post in s.execute(query)]


def count_open_comments(
    s: Session,
    team_id: str,
    *,
    channel_id: str | None = None,
    channel_ids: Collection[str] | None = None,
    owner: str | None = None,
) -> int:
    """Return how many comments are open, in a channel (or one of ``channel_ids``) and/or on an owner's
    posts."""
    query = (
        select(func.count())
        .select_from(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.team_id == team_id, Post.team_id == team_id, Comment.state == "open")
    )
    if channel_id is not None:
        query = query.where(Comment.channel_id == channel_id)
    if channel_ids is not None:
        query = query.where(Comment.channel_id.in_(list(channel_ids)))
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return s.scalar(query) or 0


def comments_for_report(
    s: Session,
    team_id: str,
    *,
    since: datetime,
    channel_id: str | None = None,
    owner: str | None = None,
) -> list[tuple[Comment, Post]]:
    """Return every open comment and those closed since ``since``, by id, each with its post.

    Closed since means answered since, or else (no answer recorded) dismissed since. In a channel
    these are three index ranges, so that a digest reads what it reports however long the channel's
    history: one condition OR-ing them is read as one range over every comment the channel ever had.
    """
    if channel_id is None:
        closed_at = func.coalesce(Comment.answered_at, Comment.dismissed_at)
        query = (
            select(Comment, Post)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.team_id == team_id, (Comment.state == "open") | (closed_at >= since))
        )
    else:
        in_channel = (Comment.team_id == team_id, Comment.channel_id == channel_id)
        wanted = union(
            select(Comment.id).where(*in_channel, Comment.state == "open"),
            select(Comment.id).where(*in_channel, Comment.answered_at >= since),
            select(Comment.id).where(
                *in_channel, Comment.answered_at.is_(None), Comment.dismissed_at >= since
            ),
        ).subquery("wanted")
        query = (
            select(Comment, Post)
            .select_from(wanted)
            .join(Comment, Comment.id == wanted.c.id)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.team_id == team_id)
        )
    query = query.where(Post.team_id == team_id).order_by(Comment.id)
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return [(comment, post) for comment, post in s.execute(query)]


def claim_comment(
    s: Session, team_id: str, comment_id: int, *, by: str, at: datetime, stale_before: datetime
) -> bool:
    """Put ``by`` on an open comment that nobody is on, or whose claim was made before ``stale_before``;
    return whether the claim took. A fresh claim, whoever made it, is never overwritten."""
    took = s.execute(
        update(Comment)
        .where(
            Comment.team_id == team_id,
            Comment.id == comment_id,
            Comment.state == "open",
            Comment.claimed_by.is_(None) | (Comment.claimed_at <= stale_before),
        )
        .values(claimed_by=by, claimed_at=at, claim_assigned_by=None)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return took is not None


def release_claim(s: Session, team_id: str, comment_id: int, *, by: str) -> bool:
    """Take ``by`` off the comment they are on; return False when they weren't on it."""
    released = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.claimed_by == by)
        .values(claimed_by=None, claimed_at=None, claim_assigned_by=None)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return released is not None


def release_lapsed_claim(
    s: Session, team_id: str, comment_id: int, *, claimed_by: str, claimed_at: datetime
) -> bool:
    """Release the claim ``claimed_by`` made at ``claimed_at`` if it is still that claim; return whether
    this call released it (of replicas releasing the same claim at once, exactly one does)."""
    released = s.execute(
        update(Comment)
        .where(
            Comment.team_id == team_id,
            Comment.id == comment_id,
            Comment.claimed_by == claimed_by,
            Comment.claimed_at == claimed_at,
        )
        .values(claimed_by=None, claimed_at=None, claim_assigned_by=None)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return released is not None


def assign_claim(s: Session, team_id: str, comment_id: int, *, to: str, by: str, at: datetime) -> bool:
    """Put ``to`` on an open comment at ``by``'s request, whoever was on it; return False when it isn't
    open."""
    assigned = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values(claimed_by=to, claimed_at=at, claim_assigned_by=by)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return assigned is not None


def claimed_comments(
    s: Session, team_id: str, *, by: str | None = None, channel_ids: Collection[str] | None = None
) -> list[tuple[Comment, Post]]:
    """Return the open comments someone is on (``by``, when given; in ``channel_ids``, when given), each
    with its post, oldest claim first."""
    query = (
        select(Comment, Post)
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.team_id == team_id,
            Post.team_id == team_id,
            Comment.state == "open",
            Comment.claimed_by.is_not(None),
        )
        .order_by(Comment.claimed_at, Comment.id)
    )
    if by is not None:
        query = query.where(Comment.claimed_by == by)
    if channel_ids is not None:
        query = query.where(Comment.channel_id.in_(list(channel_ids)))
    return [(comment, post) for comment, post in s.execute(query)]
