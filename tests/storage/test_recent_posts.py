"""The posts a channel's flag dialog offers: its own and those shared there, recent ones, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.posts import SharedLink, posts_of_channel_since, record_post, record_share, unshare

TEAM, OTHER_TEAM = "T0TWOWAY1", "T0OTHER01"
SOCIAL, PRIVATE = "C0SOCIAL01", "C0PRIV0001"
ADA, GRACE = "U0ADA00001", "U0GRACE001"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _link(n: int) -> SharedLink:
    url = f"https://x.com/acme/status/{1790000000000000000 + n}"
    return SharedLink(url, url, "x")


def _share(s: Session, team: str, channel: str, n: int, at: datetime, user: str = ADA) -> None:
    record_share(
        s,
        team,
        channel_id=channel,
        message_ts=f"{at.timestamp():.6f}",
        user_id=user,
        link=_link(n),
        shared_at=at,
    )


def _urls(s: Session, team: str, channel: str, *, limit: int = 100, owner: str | None = None) -> list[int]:
    posts = posts_of_channel_since(s, team, [channel], since=NOW - 14 * DAY, limit=limit, owner=owner)
    return [int(p.canonical_url.rsplit("/", 1)[1]) - 1790000000000000000 for p in posts]


def test_a_channels_recent_posts_newest_first_its_own_and_those_shared_there(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        for team, channel in ((TEAM, SOCIAL), (TEAM, PRIVATE), (OTHER_TEAM, SOCIAL)):
            ensure_channel(s, team, channel, now=NOW)
        _share(s, TEAM, SOCIAL, 1, NOW - 3 * DAY)
        _share(s, TEAM, SOCIAL, 2, NOW - 1 * DAY, user=GRACE)
        _share(s, TEAM, SOCIAL, 3, NOW - 20 * DAY)  # too old
        _share(s, TEAM, SOCIAL, 4, NOW - 2 * DAY)
        unshare(s, TEAM, SOCIAL, f"{(NOW - 2 * DAY).timestamp():.6f}", now=NOW)  # withdrawn
        record_post(s, TEAM, channel_id=SOCIAL, user_id=ADA, link=_link(5), recorded_at=NOW - 5 * DAY)
        _share(s, TEAM, PRIVATE, 6, NOW - DAY)  # another channel's
        _share(s, TEAM, PRIVATE, 7, NOW - 30 * DAY)  # another channel's, shared here since
        _share(s, TEAM, SOCIAL, 7, NOW - 4 * DAY)
        _share(s, OTHER_TEAM, SOCIAL, 8, NOW)  # another workspace's

    with sessions.begin() as s:
        # Newest first by when the post was first shared, wherever that was.
        assert _urls(s, TEAM, SOCIAL) == [2, 1, 5, 7]
        assert _urls(s, TEAM, SOCIAL, limit=2) == [2, 1]
        assert _urls(s, TEAM, SOCIAL, owner=GRACE) == [2]
        assert _urls(s, TEAM, PRIVATE) == [6]
        assert _urls(s, OTHER_TEAM, SOCIAL) == [8]
