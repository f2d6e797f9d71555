"""What a channel's digest reports as never delivered: read from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.digest.build import DigestInput, LostDigest, LostNudge, Undelivered, WaitingComment, build_digest
from bot.digest.chart import CHART_PERIODS
from bot.digest.compose import compose_digest, undelivered_before, with_lookups
from bot.digest.period import Period, period_ending, periods_ending_with
from bot.metrics import PostFact, SnapshotFact
from bot.posting import MAX_POST_ATTEMPTS
from storage.channels import ensure_channel
from storage.comments import close_comment, flag_comment
from storage.digest_runs import get_run
from storage.models import DigestRun, Nudge
from storage.posts import SharedLink, record_share
from tests.support.paths import ROOT
from tests.support.seen import fetched_snapshot, seen_comment

TEAM, OTHER_TEAM = "T0TWOWAY1", "T0OTHER01"
CHANNEL, OTHER_CHANNEL, NEW_CHANNEL = "C0SOCIAL01", "C0OTHER001", "C0NEW00001"
ADA = "U0ADA00001"
# The digest composed here closes the week to Monday 2 March 2026, 09:00 UTC.
SLOT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = SLOT + timedelta(minutes=1)
PERIOD = period_ending(SLOT, "UTC")


Sessions = sessionmaker[Session]


def week(before: int) -> Period:
    """The period ``before`` weeks before PERIOD."""
    return period_ending(SLOT - timedelta(weeks=before), "UTC")


def run(
    s: Session,
    period: Period,
    state: str,
    *,
    team_id: str = TEAM,
    channel_id: str = CHANNEL,
    attempts: int = 1,
    error: str | None = None,
) -> None:
    s.add(
        DigestRun(
            team_id=team_id,
            channel_id=channel_id,
            period_start=period.start,
            period_end=period.end,
            state=state,
            claimed_at=period.end,
            attempts=attempts,
            error=error,
        )
    )


def _run(s: Session) -> DigestRun:
    found = get_run(s, TEAM, CHANNEL, week(1).start)
    assert found is not None
    return found


def comment(s: Session, n: int, *, team_id: str = TEAM, channel_id: str = CHANNEL) -> int:
    """An open comment, flagged a month before the slot, on a post of its own; returns its id."""
    url = f"https://x.com/team/status/{n}"
    post, _ = record_share(
        s,
        team_id,
        channel_id=channel_id,
        message_ts=f"1700000000.{n:06d}",
        user_id=ADA,
        link=SharedLink(url, url, "x"),
        shared_at=SLOT - timedelta(weeks=4),
    )
    flagged, _ = flag_comment(
        s,
        team_id,
        post=post,
        channel_id=channel_id,
        text=f"question {n}",
        author=None,
        flagged_by=ADA,
        flagged_at=SLOT - timedelta(weeks=4),
    )
    return flagged.id


def nudge(
    s: Session,
    comment_id: int,
    level: int,
    state: str,
    tried_at: datetime,
    *,
    team_id: str = TEAM,
    error: str | None = "ratelimited",
) -> None:
    s.add(
        Nudge(
            team_id=team_id,
            comment_id=comment_id,
            level=level,
            state=state,
            claimed_at=tried_at,
            attempts=1,
            error=error if state == "failed" else None,
        )
    )


def test_only_what_this_channel_lost_since_its_last_digest_and_no_retry_will_post(
    sessions: Sessions,
) -> None:
    since = week(3).end  # the last posted digest's week ended here
    with sessions.begin() as s:
        for team_id, channel_id in ((TEAM, CHANNEL), (TEAM, OTHER_CHANNEL), (OTHER_TEAM, CHANNEL)):
            ensure_channel(s, team_id, channel_id, now=SLOT - timedelta(weeks=10))
        run(s, week(4), "failed", attempts=MAX_POST_ATTEMPTS, error="reported_before")
        run(s, week(3), "posted")
        run(s, week(2), "failed", error="ratelimited")  # over a day late: no retry
        run(s, week(1), "failed", attempts=MAX_POST_ATTEMPTS, error="history: fatal_error")
        run(s, PERIOD, "failed", error="this_very_digest")
        # Same week, but another channel of the team, and the same channel id in another team.
        run(s, week(2), "failed", channel_id=OTHER_CHANNEL, error="other_channel")
        run(s, week(2), "failed", team_id=OTHER_TEAM, error="other_team")

        waiting, answered, older, pending = (comment(s, n) for n in (1, 2, 3, 4))
        elsewhere = comment(s, 5, channel_id=OTHER_CHANNEL)
        abroad = comment(s, 6, team_id=OTHER_TEAM)
        close_comment(s, TEAM, answered, state="answered", by=ADA, at=SLOT - timedelta(days=1))
        nudge(s, waiting, 1, "failed", since + timedelta(days=2))
        nudge(s, waiting, 2, "failed", since + timedelta(days=3), error="fatal_error")
        nudge(s, answered, 1, "failed", since, error=None)
        nudge(s, older, 1, "failed", since - timedelta(seconds=1))  # in the last digest's note
        nudge(s, older, 2, "sent", since + timedelta(days=1))
        nudge(s, pending, 1, "claimed", NOW)
        nudge(s, elsewhere, 1, "failed", since + timedelta(days=1))
        nudge(s, abroad, 1, "failed", since + timedelta(days=1), team_id=OTHER_TEAM)

    with sessions.begin() as s:
        found = undelivered_before(s, TEAM, CHANNEL, PERIOD, NOW)

    assert found == Undelivered(
        digests=(LostDigest(week(2), "ratelimited"), LostDigest(week(1), "history: fatal_error")),
        nudges=(
            LostNudge(waiting, 1, "ratelimited", True),
            LostNudge(waiting, 2, "fatal_error", True),
            LostNudge(answered, 1, None, False),
        ),
    )


def test_a_digest_that_a_sweep_will_still_retry_is_not_reported_yet(sessions: Sessions) -> None:
    # Composed two hours after the previous slot (a preview): its failed digest still has retries.
    now = PERIOD.start + timedelta(hours=2)
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=SLOT - timedelta(weeks=10))
        run(s, week(1), "failed", attempts=MAX_POST_ATTEMPTS - 1, error="ratelimited")

    with sessions.begin() as s:
        assert undelivered_before(s, TEAM, CHANNEL, PERIOD, now) == Undelivered()
        _run(s).attempts = MAX_POST_ATTEMPTS
    with sessions.begin() as s:
        assert undelivered_before(s, TEAM, CHANNEL, PERIOD, now).digests == (
            LostDigest(week(1), "ratelimited"),
        )
        # A day after the slot no sweep retries it, whatever its attempts.
        _run(s).attempts = 1
        later = PERIOD.start + timedelta(days=1)
        assert undelivered_before(s, TEAM, CHANNEL, PERIOD, later).digests == (
            LostDigest(week(1), "ratelimited"),
        )


def test_a_channel_never_posted_to_reports_everything_it_lost(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ensure_channel(s, TEAM, NEW_CHANNEL, now=SLOT - timedelta(weeks=30))
        run(s, week(20), "failed", channel_id=NEW_CHANNEL, attempts=MAX_POST_ATTEMPTS, error="not_in_channel")
        lonely = comment(s, 1, channel_id=NEW_CHANNEL)
        nudge(s, lonely, 1, "failed", SLOT - timedelta(weeks=20), error="not_in_channel")

    with sessions.begin() as s:
        found = undelivered_before(s, TEAM, NEW_CHANNEL, PERIOD, NOW)

    assert found == Undelivered(
        digests=(LostDigest(week(20), "not_in_channel"),),
        nudges=(LostNudge(lonely, 1, "not_in_channel", True),),
    )


def test_the_digest_comes_with_its_charts_history_undrawn(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, timezone="Europe/Berlin", now=NOW - timedelta(weeks=10))
        comment(s, 1)
        composed = compose_digest(s, TEAM, CHANNEL, PERIOD, NOW)

    assert composed.chart is not None
    assert composed.chart.zone == "Europe/Berlin"
    periods = periods_ending_with(PERIOD, "Europe/Berlin", CHART_PERIODS)
    assert [p.period_end for p in composed.chart.points] == [p.end for p in periods]
    # Flagged four weeks before the slot, and open since.
    assert [p.open_comments for p in composed.chart.points] == [0, 0, 0, 0, 1, 1, 1, 1]


# Composes a digest with a chart's worth of history, as a preview does, and says what it imported.
COMPOSE_ALONE = """
import sys
from datetime import datetime
from bot.digest.period import period_ending
from bot.digest.compose import compose_digest
from storage.db import make_engine, make_session_factory

db_url, slot = sys.argv[1:]
slot_at = datetime.fromisoformat(slot)
with make_session_factory(make_engine(db_url))() as s:
    composed = compose_digest(s, "T0TWOWAY1", "C0SOCIAL01", period_ending(slot_at, "UTC"), slot_at)
print(len(composed.chart.points), "matplotlib" in sys.modules)
"""


def test_composing_imports_no_matplotlib(db_url: str, sessions: Sessions) -> None:
    # matplotlib is most of a replica's memory: a preview, which composes and never draws, leaves it out.
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW - timedelta(weeks=10))
        comment(s, 1)
    done = subprocess.run(
        [sys.executable, "-c", COMPOSE_ALONE, db_url, NOW.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(CHART_PERIODS), "False"]


class _FakeLookups:
    """Slack's side of `with_lookups`, with what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.named: list[list[str]] = []

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(user_ids)
        self.named.append(wanted)
        return {"U1": "zoe", "U2": "Ada"}

    def permalink(self, channel_id: str, ts: str) -> str | None:
        self.asked.append((channel_id, ts))
        return f"https://acme.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


def test_names_and_links_are_looked_up_for_the_one_way_section_only() -> None:
    start = datetime(2024, 5, 6, 9, tzinfo=UTC)
    period = Period(start, start + timedelta(weeks=1))

    def one_way(post_id: int, owner: str) -> PostFact:
        shared = start + timedelta(hours=post_id)
        return PostFact(
            post_id,
            owner,
            "x",
            f"https://x.com/{owner}/status/{post_id}",
            shared,
            (SnapshotFact(shared + timedelta(hours=50), 5, 0, 0, 0),),
        )

    def comment(
        comment_id: int,
        owner: str,
        *,
        url: str | None = None,
        message_ts: str | None = None,
        notice_ts: str | None = None,
    ) -> WaitingComment:
        return WaitingComment(
            comment_id,
            "still on sale?",
            None,
            start,
            "x",
            f"https://x.com/{owner}/status/1",
            owner,
            url=url,
            message_ts=message_ts,
            notice_ts=notice_ts,
        )

    digest = build_digest(
        DigestInput(
            channel_id="C1",
            period=period,
            previous=Period(start - timedelta(weeks=1), start),
            posts=[one_way(1, "U1"), one_way(2, "U2"), one_way(3, "U3")],
            previous_posts=[],
            owner_history={},
            waiting=[
                comment(1, "U1", message_ts="1715000000.000100", notice_ts="1715000000.000200"),
                comment(2, "U2", url="https://x.com/fan/status/9"),
            ],
            answered=[],
        ),
        period.end,
    )
    lookups = _FakeLookups()
    told = with_lookups(digest, lookups)
    assert lookups.named == [["U1", "U2", "U3"]]
    # One permalink, for the comment with no link of its own, by its flagged message.
    assert lookups.asked == [("C1", "1715000000.000100")]
    links = {b.owner: b.oldest_link for b in told.broadcasters}
    assert links == {"U1": "https://acme.slack.com/archives/C1/p1715000000000100", "U2": None, "U3": None}
    assert told.names == {"U1": "zoe", "U2": "Ada"}
    # Both wait since the same moment: the lower comment id first, then U3 with nothing waiting.
    assert [b.owner for b in told.broadcasters] == ["U1", "U2", "U3"]


class NoLookups:
    """Slack knows nobody's name, and no message link is ever asked for: a reply seen on a network has
    its own link."""

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        return {}

    def permalink(self, channel_id: str, ts: str) -> str:
        raise AssertionError(f"asked Slack for a link to {ts}")


def test_a_reply_seen_on_bluesky_and_numbers_fetched_there_show_in_the_digest(sessions: Sessions) -> None:
    url = "https://bsky.app/profile/acme.example/post/3kxyz"
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW - timedelta(weeks=10))
        post, _ = record_share(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts="1700000000.000900",
            user_id=ADA,
            link=SharedLink(url, url, "bluesky"),
            shared_at=PERIOD.start + timedelta(hours=1),
        )
        fetched_snapshot(s, post, at=PERIOD.start + timedelta(days=3), comments=6, replies=0, quotes=2)
        seen = seen_comment(
            s,
            post,
            text="Does it ship to Norway?",
            author="fan.bsky.social",
            written_at=PERIOD.start + timedelta(days=1),
            seen_at=PERIOD.start + timedelta(days=1, minutes=15),
            url="https://bsky.app/profile/fan.bsky.social/post/3kabc",
        )
        composed = compose_digest(s, TEAM, CHANNEL, PERIOD, NOW)
    told = composed.looked_up(NoLookups())
    blocks = told.message["blocks"]
    [line] = [
        b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*#")
    ]
    assert line == (
        f"*#{seen.id}* · 6 days · <{url}|Bluesky post> · <@{ADA}> · from fan.bsky.social · seen on Bluesky\n"
        "> Does it ship to Norway? · <https://bsky.app/profile/fan.bsky.social/post/3kabc|comment>"
    )
    assert told.message["text"].startswith(f"1 comment waits for an answer in <#{CHANNEL}>, oldest 6 days.")
    # One-way on its fetched counts; its button opens the reply on Bluesky.
    [button] = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"]
    assert button["url"] == "https://bsky.app/profile/fan.bsky.social/post/3kabc"
    fetched_at = int((PERIOD.start + timedelta(days=3)).timestamp())
    note = next(
        b["elements"][0]["text"] for b in blocks if b["type"] == "context" and "Changes are" in str(b)
    )
    assert note.endswith(
        "The counts of the new post were fetched from Bluesky, last "
        f"<!date^{fetched_at}^{{date_short_pretty}} at {{time}}|Thu 26 Feb 09:00 UTC>."
    )
