"""Typed SQLAlchemy models: twoway's ledger, one workspace (``team_id``) per row.

Changing a model means writing a migration in ``storage/migrations/versions``;
``tests/storage/test_migrations.py`` fails until the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Alembic and the tests refer to constraints by name, so names must not depend
# on the backend's own defaults.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Slack ids (T…, C…, U…, Ev…) and message timestamps ("1712345678.123456").
SLACK_ID = String(32)

# BIGINT keeps PostgreSQL ids roomy; SQLite only autoincrements an INTEGER PRIMARY KEY.
ID_TYPE = BigInteger().with_variant(Integer, "sqlite")

COMMENT_STATES = ("open", "answered", "dismissed")
SNAPSHOT_SOURCES = ("thread", "command", "import", "fetched")
# The networks whose posts twoway reads itself, their replies and counts, through their public APIs.
WATCHED_NETWORKS = ("bluesky", "mastodon")
DIGEST_RUN_STATES = ("claimed", "posted", "failed")
# A nudge is claimed, then sent; or folded into the channel's digest posted within the hour, or skipped
# for a person who takes a weekly direct message instead of channel nudges.
NUDGE_STATES = ("claimed", "sent", "failed", "folded", "skipped")
# What a message twoway posted about comments is: a flag's notice in its thread, a nudge, a channel's
# digest, or a person's weekly direct message.
MESSAGE_KINDS = ("notice", "nudge", "digest", "dm")
DM_STATES = ("claimed", "sent", "failed")
EVENT_STATES = ("handling", "done", "failed")
# What a channel names: a site of its own, a network account of its own, or an account that isn't.
SOURCE_KINDS = ("site", "account", "not_account")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime.

    SQLite keeps no offset, so values are normalised to UTC before they are
    written; naive datetimes are refused because their zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. tzinfo=UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Channel(Base):
    """A Slack channel twoway knows, with its digest schedule and flag settings."""

    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id"),
        CheckConstraint("digest_weekday BETWEEN 0 AND 6", name="digest_weekday_range"),
        CheckConstraint("digest_minute BETWEEN 0 AND 1439", name="digest_minute_range"),
        CheckConstraint("unanswered_threshold_hours > 0", name="unanswered_threshold_positive"),
        CheckConstraint("claim_hours > 0", name="claim_hours_positive"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    name: Mapped[str | None] = mapped_column(String(255))
    tracked: Mapped[bool] = mapped_column(server_default=false())
    # Monday is 0, as in datetime.weekday().
    digest_weekday: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # Minutes after midnight in the channel's own time zone; 540 is 09:00.
    digest_minute: Mapped[int] = mapped_column(SmallInteger, server_default="540")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    digest_enabled: Mapped[bool] = mapped_column(server_default=true())
    # Digests and nudges go only to channels twoway is in and that are not archived.
    bot_is_member: Mapped[bool] = mapped_column(server_default=true())
    is_archived: Mapped[bool] = mapped_column(server_default=false())
    unanswered_threshold_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    nudge_weekends: Mapped[bool] = mapped_column(server_default=false())
    flag_emoji: Mapped[str] = mapped_column(String(100), server_default="speech_balloon")
    resolve_emoji: Mapped[str] = mapped_column(String(100), server_default="white_check_mark")
    dismiss_emoji: Mapped[str] = mapped_column(String(100), server_default="no_entry_sign")
    # How long an "I'm on it" stays fresh: no nudge to anyone else until then, then it is released.
    claim_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    # Whether the channel's Bluesky and Mastodon posts are read from their networks (`watches`).
    watch_enabled: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        """Whether twoway works here: it is a member, and the channel is not archived."""
        return self.bot_is_member and not self.is_archived

    @property
    def digest_time(self) -> time:
        """The digest's local time of day."""
        return time(*divmod(self.digest_minute, 60))


class ChannelHome(Base):
    """The one installation whose ledger holds a channel's rows, whatever workspaces the channel is in.

    A channel shared by two workspaces that both installed twoway (Slack Connect, or shared across an
    Enterprise Grid org) has one id in both; its posts, comments and digest live under the home's
    ``team_id`` only. The first installation that brought the channel to twoway claims it; another
    takes it over when the home's installation is gone (``bot.homes``).
    """

    __tablename__ = "channel_homes"
    __table_args__ = (Index("ix_channel_homes_team_id", "team_id"),)

    # Slack channel ids are unique across workspaces; a shared channel keeps its id in each.
    channel_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    enterprise_id: Mapped[str | None] = mapped_column(SLACK_ID)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DepartedWorkspace(Base):
    """A workspace that removed twoway (uninstalled it, or revoked its bot token), and since when.

    Its ledger is kept for a while in case it installs twoway again, which deletes this row; then it
    is purged (``bot.departures``). A second notice of the same departure keeps the first date.
    """

    __tablename__ = "departed_workspaces"
    __table_args__ = (Index("ix_departed_workspaces_left_at", "left_at"),)

    team_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The event that said so: app_uninstalled or tokens_revoked.
    reason: Mapped[str] = mapped_column(String(64))


class Post(Base):
    """A published item shared in a channel, identified per team by its canonical URL."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("team_id", "canonical_url"),
        ForeignKeyConstraint(
            ["team_id", "channel_id"], ["channels.team_id", "channels.channel_id"], ondelete="CASCADE"
        ),
        # Digests read a channel's posts of a period; deleting a message finds its posts.
        Index("ix_posts_team_id_channel_id_shared_at", "team_id", "channel_id", "shared_at"),
        Index("ix_posts_team_id_channel_id_message_ts", "team_id", "channel_id", "message_ts"),
        # The Home tab and the owner nudges start from a person's posts.
        Index("ix_posts_team_id_owner_user_id_shared_at", "team_id", "owner_user_id", "shared_at"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(32))
    owner_user_id: Mapped[str] = mapped_column(SLACK_ID)
    # The first message that shared it; None for a post loaded by `twoway import`.
    message_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the sharing message is deleted; the post's comments stay on record.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A short link's tries at finding the post it leads to, and the last one's time.
    link_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    link_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When twoway asked in the post's thread for numbers it never got.
    numbers_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[Channel] = relationship()
    snapshots: Mapped[list[Snapshot]] = relationship(back_populates="post", passive_deletes=True)
    comments: Mapped[list[Comment]] = relationship(back_populates="post", passive_deletes=True)


class PostShare(Base):
    """One Slack message sharing one post. A post whose last share is deleted is withdrawn."""

    __tablename__ = "post_shares"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "message_ts", "post_id"),
        Index("ix_post_shares_team_id_post_id", "team_id", "post_id"),
        # Deleting posts looks up their shares by the foreign key alone (a purge's cost).
        Index("ix_post_shares_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    post_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("posts.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    message_ts: Mapped[str] = mapped_column(SLACK_ID)
    user_id: Mapped[str] = mapped_column(SLACK_ID)
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeptMessage(Base):
    """A channel message someone may still flag by reaction, as Slack sent it in its event.

    twoway keeps the thread replies under tracked posts and the messages that share posts, so that a
    flag reaction finds the message here instead of reading it back from Slack; rows go after
    ``bot.sharing.KEEP_MESSAGES`` (30 days). Read only by the flag of a reaction in the same channel.
    """

    __tablename__ = "kept_messages"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "ts"),
        ForeignKeyConstraint(
            ["team_id", "channel_id"], ["channels.team_id", "channels.channel_id"], ondelete="CASCADE"
        ),
        # The sweep forgets a workspace's messages by age.
        Index("ix_kept_messages_team_id_received_at", "team_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    ts: Mapped[str] = mapped_column(SLACK_ID)
    # The thread's parent; None for a top-level message.
    thread_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    # None when an integration (a bot) wrote it.
    user_id: Mapped[str | None] = mapped_column(SLACK_ID)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Snapshot(Base):
    """A post's engagement counts at one time; the latest per post is the one that counts."""

    __tablename__ = "snapshots"
    __table_args__ = (
        # Re-importing the same row is a no-op. The constraint's index also serves
        # "latest snapshot per post", so there is no separate index for it.
        UniqueConstraint("team_id", "post_id", "recorded_at"),
        # The same summary message (or import row) recorded twice is one snapshot.
        UniqueConstraint("team_id", "post_id", "source", "source_ref"),
        CheckConstraint("comments_received >= 0", name="comments_received_non_negative"),
        CheckConstraint("replies_sent >= 0", name="replies_sent_non_negative"),
        CheckConstraint("shares >= 0", name="shares_non_negative"),
        CheckConstraint("likes >= 0", name="likes_non_negative"),
        CheckConstraint("views >= 0", name="views_non_negative"),
        CheckConstraint("impressions >= 0", name="impressions_non_negative"),
        CheckConstraint("saves >= 0", name="saves_non_negative"),
        CheckConstraint("quotes >= 0", name="quotes_non_negative"),
        CheckConstraint(_one_of("source", SNAPSHOT_SOURCES), name="source_valid"),
        # Deleting posts looks up their snapshots by the foreign key alone.
        Index("ix_snapshots_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    post_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("posts.id", ondelete="CASCADE"))
    comments_received: Mapped[int] = mapped_column(Integer, server_default="0")
    replies_sent: Mapped[int] = mapped_column(Integer, server_default="0")
    shares: Mapped[int] = mapped_column(Integer, server_default="0")
    likes: Mapped[int] = mapped_column(Integer, server_default="0")
    # Reach, shown in reports and never part of the reply rate; None where the summary didn't say.
    views: Mapped[int | None] = mapped_column(Integer)
    impressions: Mapped[int | None] = mapped_column(Integer)
    saves: Mapped[int | None] = mapped_column(Integer)
    # Quote posts, counted apart from shares where the network tells them apart (Bluesky).
    quotes: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(SLACK_ID)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(255))

    post: Mapped[Post] = relationship(back_populates="snapshots")


class Comment(Base):
    """An audience comment flagged as needing an answer."""

    __tablename__ = "comments"
    __table_args__ = (
        # Flagging the same Slack message twice is one comment; comments flagged
        # by command have no message_ts, and NULLs never collide.
        UniqueConstraint("team_id", "channel_id", "message_ts"),
        # A reply read twice from its network is one comment.
        UniqueConstraint("team_id", "post_id", "remote_id"),
        CheckConstraint(_one_of("seen_on", WATCHED_NETWORKS), name="seen_on_valid"),
        CheckConstraint(_one_of("state", COMMENT_STATES), name="state_valid"),
        Index("ix_comments_team_id_channel_id_state", "team_id", "channel_id", "state"),
        # Reports read a channel's comments closed since a date, never its whole history: answered
        # ones by answered_at, dismissed ones (answered_at NULL) by dismissed_at, both in this index.
        Index(
            "ix_comments_team_id_channel_id_answered_at_dismissed_at",
            "team_id",
            "channel_id",
            "answered_at",
            "dismissed_at",
        ),
        # Owner queries reach comments through the owner's posts.
        Index("ix_comments_team_id_post_id_state", "team_id", "post_id", "state"),
        # Deleting posts looks up their comments by the foreign key alone.
        Index("ix_comments_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    post_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("posts.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), server_default="open")
    # Who flagged it; None for a reply twoway saw on the post's network itself (``seen_on``).
    flagged_by: Mapped[str | None] = mapped_column(SLACK_ID)
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(SLACK_ID)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by: Mapped[str | None] = mapped_column(SLACK_ID)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    thread_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    # twoway's own answer in that thread, updated when the comment is closed.
    notice_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The comment's own link on its network, where the flag gave one (a reply's permalink).
    url: Mapped[str | None] = mapped_column(Text)
    # Who said "I'm on it", since when, and who asked them to when someone else did (a reassignment).
    claimed_by: Mapped[str | None] = mapped_column(SLACK_ID)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_assigned_by: Mapped[str | None] = mapped_column(SLACK_ID)
    # A reply read from the post's network: which one ("bluesky", "mastodon") and the reply's id there
    # (an at:// URI, a status id). Both None for a comment someone flagged.
    seen_on: Mapped[str | None] = mapped_column(String(16))
    remote_id: Mapped[str | None] = mapped_column(String(255))

    post: Mapped[Post] = relationship(back_populates="comments")
    nudges: Mapped[list[Nudge]] = relationship(back_populates="comment", passive_deletes=True)


class ChannelSource(Base):
    """A site or network account a channel names as its own, or an account it says isn't.

    Links to a social network count as the team's posts unless their account is named not its own, or
    the channel lists its own accounts and theirs isn't one; a link to any other site counts only once
    the channel names that site.
    """

    __tablename__ = "channel_sources"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "kind", "value"),
        ForeignKeyConstraint(
            ["team_id", "channel_id"], ["channels.team_id", "channels.channel_id"], ondelete="CASCADE"
        ),
        CheckConstraint(_one_of("kind", SOURCE_KINDS), name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    kind: Mapped[str] = mapped_column(String(16))
    # A host ("blog.acme.com") for a site; "x.com/acme" and the like for an account.
    value: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str | None] = mapped_column(SLACK_ID)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestRun(Base):
    """One channel's digest for one period, claimed by a single replica before it is posted."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "period_start"),
        ForeignKeyConstraint(
            ["team_id", "channel_id"], ["channels.team_id", "channels.channel_id"], ondelete="CASCADE"
        ),
        CheckConstraint(_one_of("state", DIGEST_RUN_STATES), name="state_valid"),
        CheckConstraint("period_end > period_start", name="period_ordered"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), server_default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


class ProcessedEvent(Base):
    """A Slack event, claimed by the replica that acknowledged it, so that it is handled exactly once.

    The claim and the event's body are committed before Slack gets its 200. While ``handling``,
    ``claimed_at`` dates the claim: one older than the lease belongs to a replica that died, and
    another takes it over. ``done`` drops the body; ``failed`` keeps it for the next attempt.
    """

    __tablename__ = "processed_events"
    __table_args__ = (
        CheckConstraint(_one_of("state", EVENT_STATES), name="state_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # Recovery looks for a team's unfinished events; the purge for its old finished ones.
        Index("ix_processed_events_team_id_state_claimed_at", "team_id", "state", "claimed_at"),
        # The relevance view asks whether a message's own event is still in hand (`bot.relevance`).
        Index("ix_processed_events_team_id_message_ts", "team_id", "message_ts"),
    )

    team_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), server_default="done")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # The ts of the message the event is about (a new message's, an edited one's), None for others.
    message_ts: Mapped[str | None] = mapped_column(String(32))


class SeenRequest(Base):
    """A signed HTTP request already accepted, by its signature, so that a replay of it is refused.

    Slack signs the timestamp with the body, so one signature is one request. Rows outlive Slack's
    five-minute window a little and are then purged; ``team_id`` is the body's, or "-".
    """

    __tablename__ = "seen_requests"
    __table_args__ = (UniqueConstraint("signature"), Index("ix_seen_requests_seen_at", "seen_at"))

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    # "v0=" and 64 hex digits; longer ones are refused by signature verification first.
    signature: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Nudge(Base):
    """A reminder to a post's owner about an open comment; level 2 is the follow-up."""

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("team_id", "comment_id", "level"),
        CheckConstraint("level IN (1, 2)", name="level_valid"),
        CheckConstraint(_one_of("state", NUDGE_STATES), name="state_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # A digest lists the nudges that failed since the last one: few rows, out of every nudge sent.
        Index("ix_nudges_team_id_state_claimed_at", "team_id", "state", "claimed_at"),
        # Deleting comments looks up their nudges by the foreign key alone.
        Index("ix_nudges_comment_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    comment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("comments.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(16), server_default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

    comment: Mapped[Comment] = relationship(back_populates="nudges")


class SlackTurn(Base):
    """The pace of one Slack method in one workspace (and channel, where Slack limits per channel).

    Shared by every replica, so that together they keep within Slack's limit: ``next_at`` is the
    moment, in seconds since the epoch, from which the bucket has no call left in hand (a generic
    cell rate clock); ``channel_id`` is "" for a limit on the whole workspace.
    """

    __tablename__ = "slack_turns"

    team_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    next_at: Mapped[float] = mapped_column(Double)


class PostedMessage(Base):
    """A message twoway posted about comments, kept so that it can be updated when one of them changes.

    ``recipe`` says how to draw it again (JSON, by kind); ``stale_since`` is set when a comment it
    shows changed, and cleared once ``chat.update`` has drawn it again, under a claim with a lease.
    """

    __tablename__ = "posted_messages"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "ts"),
        CheckConstraint(_one_of("kind", MESSAGE_KINDS), name="kind_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The refresher looks for stale messages across workspaces; few rows are stale at a time.
        Index("ix_posted_messages_stale_since", "stale_since"),
        # Messages older than their life are deleted by the day they were posted.
        Index("ix_posted_messages_posted_at", "posted_at"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    channel_id: Mapped[str] = mapped_column(SLACK_ID)
    ts: Mapped[str] = mapped_column(SLACK_ID)
    kind: Mapped[str] = mapped_column(String(16))
    recipe: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


class PostedMessageComment(Base):
    """Which comments a posted message shows."""

    __tablename__ = "posted_message_comments"
    __table_args__ = (
        # A comment's change finds its messages by the comment.
        Index("ix_posted_message_comments_team_id_comment_id", "team_id", "comment_id"),
        # Deleting comments looks up these rows by the foreign key alone.
        Index("ix_posted_message_comments_comment_id", "comment_id"),
    )

    message_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("posted_messages.id", ondelete="CASCADE"), primary_key=True
    )
    comment_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(SLACK_ID)


class Person(Base):
    """A person's own settings: a weekly direct message instead of channel nudges, and their time zone
    as ``users.info`` gave it, with when it was read."""

    __tablename__ = "people"

    team_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(SLACK_ID, primary_key=True)
    weekly_dm: Mapped[bool] = mapped_column(server_default=false())
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WeeklyDm(Base):
    """One person's weekly direct message for one week, claimed by a single replica before it is sent."""

    __tablename__ = "weekly_dms"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "week_start"),
        CheckConstraint(_one_of("state", DM_STATES), name="state_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    user_id: Mapped[str] = mapped_column(SLACK_ID)
    week_start: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), server_default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_id: Mapped[str | None] = mapped_column(SLACK_ID)
    message_ts: Mapped[str | None] = mapped_column(SLACK_ID)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


class Watch(Base):
    """A Bluesky or Mastodon post whose replies and counts twoway reads from its network, on a cadence.

    Fetches happen in slots (`bot.watching`): every 15 minutes in the post's first day, hourly in its
    first week, daily until 30 days. ``slot`` is the last slot a replica claimed, by one conditional
    UPDATE, so each slot is fetched once whichever replica takes it; ``due_at`` is when the next one
    starts (a failed fetch moves it by a backoff, keeping the slot). ``target`` is the post as its
    network's API names it, once resolved (an at:// URI with its DID, an instance and status id), and
    ``anchor_at`` the post's own creation time there (its shared time until the first fetch).
    """

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("team_id", "post_id"),
        CheckConstraint(_one_of("network", WATCHED_NETWORKS), name="network_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The watcher's scan: one workspace's watches that are due.
        Index("ix_watches_team_id_due_at", "team_id", "due_at"),
        # Deleting posts looks up their watches by the foreign key alone.
        Index("ix_watches_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    team_id: Mapped[str] = mapped_column(SLACK_ID)
    post_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("posts.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None once the post is past watching (30 days) or watching stopped for good.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slot: Mapped[int] = mapped_column(Integer, server_default="-1")
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
