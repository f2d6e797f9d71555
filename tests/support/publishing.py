"""Digests and nudges against an in-process emulator: the ledger set up, publishers built, calls read."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy.orm import Session, sessionmaker

from bot.deps import retry_handlers
from bot.digest.chart import ChartData, HistoryPoint, render_chart
from bot.digest.compose import ComposedDigest
from bot.digest.period import Period, period_ending
from bot.digest.publish import ChartDrawer, Composer, Publisher
from bot.metrics import Rate
from emulator import DEFAULT_TEAM_ID, SOCIAL_CHANNEL_ID, Emulator
from storage.channels import ensure_channel
from storage.comments import flag_comment
from storage.posts import SharedLink, record_share

TEAM = DEFAULT_TEAM_ID
CHANNEL = SOCIAL_CHANNEL_ID
# A Monday 09:00 UTC digest slot, and the week it closes.
SLOT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = period_ending(SLOT, "UTC")
# Two weeks with comments: history enough for a chart.
CHART = ChartData(
    (HistoryPoint(PERIOD.start, Rate(1, 2, 0.5), 1), HistoryPoint(PERIOD.end, Rate(2, 2, 1.0), 0))
)

ADA, GRACE = "U0ADA00001", "U0GRACE001"

Sessions = sessionmaker[Session]


@dataclass
class Clock:
    """A clock the test moves; the emulator's message timestamps follow it too."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def stub_compose(s: Session, team_id: str, channel_id: str, period: Period, now: datetime) -> ComposedDigest:
    """A one-line digest naming its channel and week, without reading the ledger."""
    text = f"Digest of {channel_id}, week to {period.end:%Y-%m-%d}"
    return ComposedDigest(
        {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}, None
    )


def with_chart(s: Session, team_id: str, channel_id: str, period: Period, now: datetime) -> ComposedDigest:
    """`stub_compose`'s digest with a chart of two weeks to draw."""
    return ComposedDigest(stub_compose(s, team_id, channel_id, period, now).message, CHART)


def slack_client(emu: Emulator) -> WebClient:
    """A client that retries as the app's own does (`bot.deps.retry_handlers`), only without waiting."""
    handlers = retry_handlers(FixedValueRetryIntervalCalculator(0.01))
    return WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=handlers)


def control(emu: Emulator, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call to the emulator's control endpoints."""
    request = urllib.request.Request(
        emu.base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def posted(emu: Emulator, method: str = "chat.postMessage") -> list[dict[str, Any]]:
    """The successful calls of ``method`` the emulator saw."""
    return [c for c in emu.calls(method) if c["ok"]]


def add_channel(sessions: Sessions, created_at: datetime, channel_id: str = CHANNEL, **settings: Any) -> None:
    """A channel in the ledger since ``created_at``, with ``settings`` (its columns) set."""
    with sessions.begin() as s:
        channel = ensure_channel(s, TEAM, channel_id, now=created_at)
        for name, value in settings.items():
            setattr(channel, name, value)


def make_publisher(
    sessions: Sessions,
    emu: Emulator,
    clock: Callable[[], datetime],
    compose: Composer = stub_compose,
    replica: str = "test:1",
    draw_chart: ChartDrawer = render_chart,
) -> Publisher:
    """A publisher posting through the emulator with `slack_client`."""
    client = slack_client(emu)
    return Publisher(
        sessions=sessions,
        client_for=lambda team: client,
        compose=compose,
        replica=replica,
        clock=clock,
        draw_chart=draw_chart,
    )


def flagged(sessions: Sessions, emu: Emulator, clock: Clock, n: int = 1, *, threaded: bool = True) -> int:
    """A post ADA shared, and an open comment on it flagged now; returns the comment's id."""
    share = control(emu, "POST", "/_emulator/message", {"channel": CHANNEL, "user": ADA, "text": f"post {n}"})
    url = f"https://x.com/team/status/{n}"
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=clock.now - timedelta(days=30))
        post, _ = record_share(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts=share["ts"],
            user_id=ADA,
            link=SharedLink(url, url, "x"),
            shared_at=clock.now,
        )
        comment, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text=f"question {n}",
            author=None,
            flagged_by=GRACE,
            flagged_at=clock.now,
            thread_ts=share["ts"] if threaded else None,
        )
        return comment.id
