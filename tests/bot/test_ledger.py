from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.ledger import first_nudge_at, slack_time
from storage.models import Channel


def _channel(hours: int = 24, weekends: bool = False, zone: str = "UTC") -> Channel:
    return Channel(
        team_id="T1",
        channel_id="C1",
        unanswered_threshold_hours=hours,
        nudge_weekends=weekends,
        timezone=zone,
    )


@pytest.mark.parametrize(
    ("start", "channel", "expected"),
    [
        # Tuesday + 24 h is Wednesday.
        (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), _channel(), datetime(2026, 11, 25, 15, 0, tzinfo=UTC)),
        # Friday 15:00 + 24 h lands on Saturday: Monday 09:00 instead.
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), _channel(), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        # Unless the channel nudges on weekends.
        (
            datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
            _channel(weekends=True),
            datetime(2026, 11, 28, 15, 0, tzinfo=UTC),
        ),
        # Sunday in the channel's zone: Monday 09:00 there (Tokyo is UTC+9).
        (
            datetime(2026, 11, 28, 20, 0, tzinfo=UTC),
            _channel(hours=6, zone="Asia/Tokyo"),
            datetime(2026, 11, 30, 0, 0, tzinfo=UTC),
        ),
        # A 6-hour threshold on Friday evening in New York stays Friday there though it is Saturday in UTC.
        (
            datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
            _channel(hours=6, zone="America/New_York"),
            datetime(2026, 11, 28, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_first_nudge_skips_weekends_in_the_channels_zone(
    start: datetime, channel: Channel, expected: datetime
) -> None:
    assert first_nudge_at(start, channel) == expected


def test_slack_time() -> None:
    assert slack_time("1700000000.000100") == datetime(2023, 11, 14, 22, 13, 20, 100, tzinfo=UTC)
