from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.chart import CHART_PERIODS, ChartData, HistoryPoint, render_chart
from bot.metrics import Rate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIRST_END = datetime(2024, 3, 4, 9, tzinfo=UTC)
NO_COMMENTS = Rate(replies=0, comments=0, value=None)


def point(week: int, rate: Rate = NO_COMMENTS, open_comments: int = 0) -> HistoryPoint:
    return HistoryPoint(FIRST_END + timedelta(weeks=week), rate, open_comments)


def weeks(count: int) -> list[HistoryPoint]:
    return [point(n, Rate(n, 10, n / 10), 12 - n) for n in range(count)]


def size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_eight_weeks_make_a_small_png() -> None:
    png = render_chart(ChartData(weeks(8)))
    assert png is not None
    assert png.startswith(PNG_SIGNATURE)
    width, height = size(png)
    assert width <= 800
    assert height <= 400


@pytest.mark.parametrize(
    "points",
    [
        [],
        [point(0, Rate(1, 2, 0.5), 3)],
        [point(n) for n in range(8)],
        # one week with anything in it is not a history
        [point(0, Rate(1, 2, 0.5)), *(point(n) for n in range(1, 8))],
        # the one older than the last eight doesn't count
        [point(-1, Rate(1, 2, 0.5)), point(0, open_comments=1), *(point(n) for n in range(1, 8))],
    ],
)
def test_no_history_no_chart(points: list[HistoryPoint]) -> None:
    assert render_chart(ChartData(points)) is None


def test_weeks_without_comments_leave_gaps() -> None:
    points = [point(n, NO_COMMENTS if n % 3 == 0 else Rate(1, 2, 0.5), n % 2) for n in range(8)]
    png = render_chart(ChartData(points))
    assert png is not None
    assert png.startswith(PNG_SIGNATURE)


def test_open_comments_alone_are_a_history() -> None:
    png = render_chart(ChartData([point(0, open_comments=2), point(1, open_comments=5)]))
    assert png is not None
    assert png.startswith(PNG_SIGNATURE)


def test_only_the_last_eight_in_any_order() -> None:
    points = weeks(12)
    last = render_chart(ChartData(points[-CHART_PERIODS:]))
    assert last is not None
    assert render_chart(ChartData(points[::-1])) == last
    assert render_chart(ChartData(points)) != render_chart(ChartData(points[:CHART_PERIODS]))


def test_labels_follow_the_channel_zone() -> None:
    # Monday 09:00 in Sydney is Sunday 23:00 UTC: the labels differ, so do the bytes.
    points = [
        HistoryPoint(datetime(2024, 5, 5, 23, tzinfo=UTC) + timedelta(weeks=n), Rate(1, 2, 0.5), 1)
        for n in range(3)
    ]
    sydney = render_chart(ChartData(points, "Australia/Sydney"))
    assert sydney is not None
    assert sydney != render_chart(ChartData(points))
