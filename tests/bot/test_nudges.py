"""Nudges: when they fall due (pure), what a batch says, and each batch sent once through the emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.digest.compose import compose_digest
from bot.digest.period import period_for
from bot.ledger import Reach, close
from bot.nudges import (
    NUDGE_EVENT_TYPE,
    Batch,
    NudgeOutcome,
    Nudger,
    fold_slot,
    nudge_metadata,
    nudges_due,
    redraw_nudge,
    render_batch,
)
from bot.render_ledger import ANSWERED_ACTION, CLAIM_ACTION, DISMISSED_ACTION, SNOOZE_ACTION
from emulator import Emulator, EmulatorSettings
from storage.channels import ensure_channel
from storage.comments import flag_comment, snooze_comment
from storage.models import Channel, Comment, Nudge, Person, Post, PostedMessage
from storage.nudge_claims import claim_nudges
from storage.posted_messages import recipe_of
from storage.posts import SharedLink, record_share
from tests.support.publishing import (
    ADA,
    CHANNEL,
    GRACE,
    TEAM,
    Clock,
    control,
    flagged,
    make_publisher,
    posted,
    slack_client,
)

# Tuesday 3 March 2026, 10:00 UTC.
TUESDAY = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
THREADS = 4

Sessions = sessionmaker[Session]
LINUS = "U0LINUS001"


def _channel(hours: int = 24, weekends: bool = False, zone: str = "UTC") -> Channel:
    return Channel(
        team_id="T1",
        channel_id="C1",
        unanswered_threshold_hours=hours,
        nudge_weekends=weekends,
        timezone=zone,
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 (the 2nd is a Monday), UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "channel", "now", "snoozed_until", "expected"),
    [
        pytest.param(at(3, 10), _channel(), at(4, 9, 59), None, [], id="before-the-threshold"),
        pytest.param(at(3, 10), _channel(), at(4, 10), None, [1], id="at-the-threshold"),
        pytest.param(at(3, 10), _channel(), at(5, 9, 59), None, [1], id="before-twice"),
        pytest.param(at(3, 10), _channel(), at(5, 10), None, [1, 2], id="at-twice-the-threshold"),
        pytest.param(at(3, 10), _channel(hours=6), at(3, 22), None, [1, 2], id="own-threshold"),
        # Friday 15:00 + 24 h is Saturday: Monday 09:00, and the follow-up a day later.
        pytest.param(at(6, 15), _channel(), at(8, 23), None, [], id="weekend-waits"),
        pytest.param(at(6, 15), _channel(), at(9, 9), None, [1], id="monday-morning"),
        pytest.param(at(6, 15), _channel(), at(10, 8, 59), None, [1], id="follow-up-not-yet"),
        pytest.param(at(6, 15), _channel(), at(10, 9), None, [1, 2], id="follow-up-tuesday"),
        # Thursday: level 1 on Friday, the follow-up's Saturday becomes Monday.
        pytest.param(at(5, 15), _channel(), at(7, 16), None, [1], id="follow-up-skips-weekend"),
        pytest.param(at(5, 15), _channel(), at(9, 9), None, [1, 2], id="follow-up-monday"),
        pytest.param(at(6, 15), _channel(weekends=True), at(7, 15), None, [1], id="weekends-on"),
        pytest.param(at(6, 15), _channel(weekends=True), at(8, 15), None, [1, 2], id="weekends-on-twice"),
        # Friday 20:00 UTC is Saturday 05:00 in Tokyo: Monday 09:00 Tokyo is Monday 00:00 UTC.
        pytest.param(at(5, 20), _channel(zone="Asia/Tokyo"), at(6, 20), None, [], id="weekend-in-tokyo"),
        pytest.param(at(5, 20), _channel(zone="Asia/Tokyo"), at(9, 0), None, [1], id="monday-in-tokyo"),
        # Friday 20:00 UTC is still Friday in New York.
        pytest.param(at(5, 20), _channel(zone="America/New_York"), at(6, 20), None, [1], id="friday-in-ny"),
        pytest.param(at(3, 10), _channel(), at(4, 12), at(4, 13), [], id="snoozed"),
        pytest.param(at(3, 10), _channel(), at(6, 12), at(5, 13), [1, 2], id="snooze-over"),
        # A snooze that ends on Saturday holds until Monday morning.
        pytest.param(at(3, 10), _channel(), at(8, 12), at(7, 10), [], id="snooze-ends-on-weekend"),
        pytest.param(at(3, 10), _channel(), at(9, 9), at(7, 10), [1, 2], id="snooze-then-monday"),
    ],
)
def test_nudges_due(
    start: datetime, channel: Channel, now: datetime, snoozed_until: datetime | None, expected: list[int]
) -> None:
    assert nudges_due(start, channel, now, snoozed_until=snoozed_until) == expected


def _digest_at(weekday: int = 0, minute: int = 540, enabled: bool = True) -> Channel:
    channel = _channel()
    channel.digest_weekday, channel.digest_minute, channel.digest_enabled = weekday, minute, enabled
    return channel


@pytest.mark.parametrize(
    ("due", "channel", "expected"),
    [
        pytest.param(at(9, 9), _digest_at(), at(9, 9), id="at-the-slot"),
        pytest.param(at(9, 8), _digest_at(), at(9, 9), id="an-hour-before"),
        pytest.param(at(9, 10), _digest_at(), at(9, 9), id="an-hour-after"),
        pytest.param(at(9, 7, 59), _digest_at(), None, id="earlier"),
        pytest.param(at(9, 10, 1), _digest_at(), None, id="later"),
        pytest.param(at(9, 9), _digest_at(enabled=False), None, id="digest-off"),
        pytest.param(at(10, 9), _digest_at(), None, id="another-day"),
    ],
)
def test_a_nudge_folds_into_a_digest_within_the_hour(
    due: datetime, channel: Channel, expected: datetime | None
) -> None:
    assert fold_slot(due, channel) == expected


def _pair(comment_id: int, owner: str, *, age: timedelta, state: str = "open") -> tuple[Comment, Post]:
    post = Post(
        id=comment_id,
        team_id="T1",
        channel_id="C1",
        canonical_url=f"https://x.com/team/status/{comment_id}",
        platform="x",
        owner_user_id=owner,
    )
    comment = Comment(
        id=comment_id,
        team_id="T1",
        post_id=comment_id,
        channel_id="C1",
        text=f"Where can I   buy <this> {comment_id}?",
        author="@someone",
        flagged_at=TUESDAY - age,
        flagged_by=ADA,
        state=state,
    )
    return comment, post


def _actions(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in (b["elements"] if isinstance(b, dict) else b.to_dict()["elements"])
    ]


def _texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] in ("section",)]


def test_a_batch_mentions_its_owner_once_and_lists_the_comments_oldest_first() -> None:
    items = (_pair(7, GRACE, age=timedelta(days=3)), _pair(9, GRACE, age=timedelta(days=1)))

    message = render_batch(Batch("C1", 1, GRACE, items), TUESDAY)

    assert message["text"] == f"<@{GRACE}>, 2 comments wait for you, oldest 3 days."
    text = json.dumps(message["blocks"])
    assert text.count(f"<@{GRACE}>") == 1
    assert text.index("*#7*") < text.index("*#9*")
    assert "waited 3 days" in text
    assert "waited 1 day" in text
    assert "<https://x.com/team/status/7|X post>" in text
    assert "Where can I buy &lt;this&gt; 7?" in text
    assert _actions(message) == [
        (a, str(i)) for i in (7, 9) for a in (ANSWERED_ACTION, DISMISSED_ACTION, SNOOZE_ACTION, CLAIM_ACTION)
    ]


def test_the_follow_up_asks_the_channel_and_leaves_weekly_readers_unmentioned() -> None:
    items = (_pair(7, GRACE, age=timedelta(days=2)), _pair(8, LINUS, age=timedelta(days=2)))

    message = render_batch(Batch("C1", 2, None, items, frozenset({LINUS})), TUESDAY)

    assert message["text"] == "Can anyone take these? 2 comments still wait, oldest 2 days."
    text = json.dumps(message["blocks"])
    assert f"<@{GRACE}>'s post" in text
    assert LINUS not in text


def test_a_long_batch_lists_ten_and_points_to_the_rest() -> None:
    items = tuple(_pair(i, GRACE, age=timedelta(hours=30 - i)) for i in range(1, 15))

    message = render_batch(Batch("C1", 1, GRACE, items), TUESDAY)

    assert message["text"].startswith(f"<@{GRACE}>, 14 comments wait for you")
    assert len(message["blocks"]) == 1 + 3 * 10 + 1 <= 50
    assert message["blocks"][-1]["elements"][0]["text"] == "and 4 more: `/twoway unanswered`"


# ---- against the emulator and a database ---------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY)


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=lambda: clock.now.timestamp())) as emulator:
        yield emulator


def _nudger(sessions: Sessions, emu: Emulator, clock: Clock, replica: str = "test:1") -> Nudger:
    client = slack_client(emu)
    return Nudger(sessions=sessions, client_for=lambda team: client, replica=replica, clock=clock)


@pytest.fixture
def nudger(sessions: Sessions, emu: Emulator, clock: Clock) -> Nudger:
    return _nudger(sessions, emu, clock)


def nudge_rows(sessions: Sessions) -> list[tuple[int, int, str]]:
    with sessions.begin() as s:
        return sorted((n.comment_id, n.level, n.state) for n in s.scalars(select(Nudge)))


def _flag(
    sessions: Sessions, emu: Emulator, clock: Clock, n: int, owner: str, *, ago: timedelta = timedelta(0)
) -> int:
    """A post ``owner`` shared, and an open comment on it flagged ``ago`` before now; its id."""
    share = control(
        emu, "POST", "/_emulator/message", {"channel": CHANNEL, "user": owner, "text": f"post {n}"}
    )
    url = f"https://x.com/team/status/{n}"
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=clock.now - timedelta(days=30))
        post, _ = record_share(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts=share["ts"],
            user_id=owner,
            link=SharedLink(url, url, "x"),
            shared_at=clock.now - ago,
        )
        comment, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text=f"question {n}",
            author=None,
            flagged_by=ADA,
            flagged_at=clock.now - ago,
            thread_ts=share["ts"],
        )
        return comment.id


def _graces_and_linuss(sessions: Sessions, emu: Emulator, clock: Clock) -> tuple[list[int], list[int]]:
    """Four comments on Grace's posts and two on Linus's, flagged in a mixed order; each list oldest first."""
    hours = {1: 3, 2: 1, 3: 4, 4: 2}
    grace = {n: _flag(sessions, emu, clock, n, GRACE, ago=timedelta(hours=h)) for n, h in hours.items()}
    linus = [_flag(sessions, emu, clock, 10 + n, LINUS, ago=timedelta(hours=2 - n)) for n in range(2)]
    return [grace[n] for n in sorted(hours, key=lambda n: -hours[n])], linus


def _metadata(args: dict[str, Any]) -> dict[str, Any]:
    metadata = args.get("metadata") or {}
    return dict(json.loads(metadata) if isinstance(metadata, str) else metadata)


def _nudges_posted(emu: Emulator) -> list[dict[str, Any]]:
    return [c["args"] for c in posted(emu) if _metadata(c["args"]).get("event_type") == NUDGE_EVENT_TYPE]


def _shown(args: dict[str, Any]) -> list[int]:
    blocks = args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [int(b["block_id"].removeprefix("comment-")) for b in blocks if b["type"] == "actions"]


def test_six_due_comments_of_two_owners_are_two_messages_oldest_first(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace, linus = _graces_and_linuss(sessions, emu, clock)
    clock.advance(timedelta(hours=24))

    outcomes = nudger.sweep(TEAM)

    assert sorted(o.comment_id for o in outcomes) == sorted(grace + linus)
    assert {(o.level, o.status) for o in outcomes} == {(1, "sent")}
    to_grace, to_linus = sorted(_nudges_posted(emu), key=lambda a: GRACE not in a["text"])
    assert to_grace["text"] == f"<@{GRACE}>, 4 comments wait for you, oldest 1 day."
    assert to_linus["text"] == f"<@{LINUS}>, 2 comments wait for you, oldest 1 day."
    assert _shown(to_grace) == grace
    assert _shown(to_linus) == linus
    # In the channel, not in any one comment's thread.
    assert "thread_ts" not in to_grace
    assert "thread_ts" not in to_linus
    assert len({o.ts for o in outcomes}) == 2
    assert nudge_rows(sessions) == sorted((c, 1, "sent") for c in grace + linus)
    with sessions.begin() as s:
        remembered = {m.ts: m.kind for m in s.scalars(select(PostedMessage))}
    assert remembered == {o.ts: "nudge" for o in outcomes}

    clock.advance(timedelta(hours=1))
    assert nudger.sweep(TEAM) == []
    assert len(_nudges_posted(emu)) == 2


def test_two_replicas_sweeping_at_once_still_send_two_messages(
    sessions: Sessions, emu: Emulator, clock: Clock
) -> None:
    grace, linus = _graces_and_linuss(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    replicas = [_nudger(sessions, emu, clock, f"replica:{n}") for n in range(THREADS)]
    start = threading.Barrier(THREADS)

    def sweep(replica: Nudger) -> list[NudgeOutcome]:
        start.wait()
        return replica.sweep(TEAM)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for f in [pool.submit(sweep, r) for r in replicas] for o in f.result()]
    outcomes += replicas[0].sweep(TEAM)

    assert sorted(o.comment_id for o in outcomes if o.status == "sent") == sorted(grace + linus)
    assert {o.status for o in outcomes} <= {"sent", "in_progress"}
    assert len(_nudges_posted(emu)) == 2
    assert nudge_rows(sessions) == sorted((c, 1, "sent") for c in grace + linus)


def test_after_a_crash_a_posted_batch_is_found_by_its_metadata_not_doubled(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace, _ = _graces_and_linuss(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    # The crashed replica claimed Grace's batch and posted it, but never recorded it.
    with sessions.begin() as s:
        assert len(claim_nudges(s, TEAM, grace, 1, now=clock.now)) == 4
    ts = slack_client(emu).chat_postMessage(
        channel=CHANNEL, text="nudge", metadata=nudge_metadata(TEAM, CHANNEL, 1, grace)
    )["ts"]

    clock.advance(timedelta(minutes=2))
    first = nudger.sweep(TEAM)
    # Linus's batch goes; Grace's is held by the crashed replica until its lease is out.
    assert sorted((o.comment_id, o.status) for o in first if o.comment_id in grace) == [
        (c, "in_progress") for c in sorted(grace)
    ]
    assert len(_nudges_posted(emu)) == 2

    clock.advance(timedelta(minutes=5))
    assert sorted(nudger.sweep(TEAM), key=lambda o: o.comment_id) == [
        NudgeOutcome(c, 1, "found_after_crash", ts) for c in sorted(grace)
    ]
    assert nudger.sweep(TEAM) == []
    assert len(_nudges_posted(emu)) == 2
    assert [r for r in nudge_rows(sessions) if r[0] in grace] == [(c, 1, "sent") for c in sorted(grace)]
    with sessions.begin() as s:
        [found] = [m for m in s.scalars(select(PostedMessage)) if m.ts == ts]
        redrawn = redraw_nudge(s, TEAM, recipe_of(found), clock.now, {})
    assert redrawn is not None
    assert _shown({"blocks": redrawn["blocks"]}) == grace


@pytest.mark.parametrize("fault", [{"kept": True}, {"drop": True}], ids=["500_after_keeping_it", "dropped"])
def test_a_batch_whose_post_has_an_unknown_outcome_is_found_not_repeated(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger, fault: dict[str, Any]
) -> None:
    comment_id = flagged(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    fault = {"method": "chat.postMessage", "status": 500, "count": 1, **fault}
    control(emu, "POST", "/_emulator/faults", fault)

    [nudge] = nudger.sweep(TEAM)

    assert (nudge.comment_id, nudge.level, nudge.status) == (comment_id, 1, "sent")
    history = slack_client(emu).conversations_history(channel=CHANNEL, include_all_metadata=True)
    nudges = [m for m in history["messages"] if m.get("metadata")]
    assert [m["ts"] for m in nudges] == [nudge.ts]
    assert nudge_rows(sessions) == [(comment_id, 1, "sent")]


def test_a_comment_is_nudged_then_asked_about_in_the_channel_then_left_alone(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    assert posted(emu) == []

    clock.advance(timedelta(hours=23, minutes=59))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(minutes=1))
    [first] = nudger.sweep(TEAM)
    assert (first.comment_id, first.level, first.status) == (comment_id, 1, "sent")
    [call] = posted(emu)
    assert f"<@{ADA}>" in call["args"]["text"]
    assert _metadata(call["args"]) == nudge_metadata(TEAM, CHANNEL, 1, [comment_id])

    clock.advance(timedelta(hours=23))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(hours=1))
    [second] = nudger.sweep(TEAM)
    assert (second.level, second.status) == (2, "sent")
    follow_up = posted(emu)[1]["args"]
    assert follow_up["text"].startswith("Can anyone take this? 1 comment still waits")
    history = slack_client(emu).conversations_history(channel=CHANNEL)["messages"]
    assert second.ts in [m["ts"] for m in history]

    clock.advance(timedelta(hours=24))
    assert nudger.sweep(TEAM) == []
    clock.advance(timedelta(days=30))
    assert nudger.sweep(TEAM) == []
    assert len(posted(emu)) == 2
    assert nudge_rows(sessions) == [(comment_id, 1, "sent"), (comment_id, 2, "sent")]


def test_answered_and_dismissed_comments_are_never_nudged(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    answered = flagged(sessions, emu, clock, 1)
    dismissed = flagged(sessions, emu, clock, 2)
    with sessions.begin() as s:
        close(
            s,
            TEAM,
            Reach.channel(CHANNEL),
            answered,
            state="answered",
            by=ADA,
            at=clock.now + timedelta(hours=1),
        )
        close(
            s,
            TEAM,
            Reach.channel(CHANNEL),
            dismissed,
            state="dismissed",
            by=GRACE,
            at=clock.now + timedelta(hours=30),
        )

    for _ in range(4):
        clock.advance(timedelta(hours=24))
        assert nudger.sweep(TEAM) == []
    assert posted(emu) == []


def test_a_snoozed_comment_waits_for_its_snooze(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    with sessions.begin() as s:
        assert snooze_comment(s, TEAM, comment_id, until=clock.now + timedelta(hours=30)) is not None

    clock.advance(timedelta(hours=25))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(hours=5))
    [nudge] = nudger.sweep(TEAM)
    assert nudge.level == 1


def test_a_comment_someone_is_on_gets_no_nudge_until_the_claim_goes_stale(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    with sessions.begin() as s:
        comment = s.get_one(Comment, comment_id)
        comment.claimed_by, comment.claimed_at = GRACE, clock.now + timedelta(hours=20)

    clock.advance(timedelta(hours=24))
    assert nudger.sweep(TEAM) == []
    assert nudge_rows(sessions) == []

    # The channel's 24 claim hours are over.
    clock.advance(timedelta(hours=20))
    assert [(o.comment_id, o.status) for o in nudger.sweep(TEAM)] == [(comment_id, "sent")]


def test_a_person_who_takes_a_weekly_dm_gets_no_nudge_and_is_not_mentioned_in_the_follow_up(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    mine = _flag(sessions, emu, clock, 1, LINUS)
    theirs = _flag(sessions, emu, clock, 2, GRACE)
    with sessions.begin() as s:
        s.add(Person(team_id=TEAM, user_id=LINUS, weekly_dm=True, updated_at=clock.now))

    clock.advance(timedelta(hours=24))
    [sent] = nudger.sweep(TEAM)
    assert (sent.comment_id, sent.level) == (theirs, 1)
    assert nudge_rows(sessions) == sorted([(mine, 1, "skipped"), (theirs, 1, "sent")])
    assert all(LINUS not in a["text"] for a in _nudges_posted(emu))

    clock.advance(timedelta(hours=24))
    outcomes = nudger.sweep(TEAM)
    assert sorted((o.comment_id, o.level) for o in outcomes) == sorted([(mine, 2), (theirs, 2)])
    follow_up = _nudges_posted(emu)[-1]
    assert _shown(follow_up) == sorted([mine, theirs])
    assert LINUS not in json.dumps(follow_up["blocks"]) + follow_up["text"]
    assert f"<@{GRACE}>" in json.dumps(follow_up["blocks"])


def test_a_failed_batch_is_retried_at_the_next_sweep(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500})

    assert nudger.sweep(TEAM) == [NudgeOutcome(comment_id, 1, "failed", error="fatal_error")]

    control(emu, "DELETE", "/_emulator/faults")
    clock.advance(timedelta(minutes=5))
    [retried] = nudger.sweep(TEAM)
    assert retried.status == "sent"
    assert len(posted(emu)) == 1
    assert nudge_rows(sessions) == [(comment_id, 1, "sent")]


def test_a_batch_that_fails_to_render_is_recorded_failed_and_the_sweep_goes_on(
    sessions: Sessions,
    emu: Emulator,
    clock: Clock,
    nudger: Nudger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = _flag(sessions, emu, clock, 1, GRACE), _flag(sessions, emu, clock, 2, LINUS)
    real_render = render_batch

    def render(batch: Batch, now: datetime) -> dict[str, Any]:
        if batch.owner == GRACE:
            raise ValueError("a renderer bug")
        return real_render(batch, now)

    monkeypatch.setattr("bot.nudges.render_batch", render)
    clock.advance(timedelta(hours=24))

    outcomes = nudger.sweep(TEAM)

    assert sorted((o.comment_id, o.status) for o in outcomes) == [(broken, "failed"), (fine, "sent")]
    # Its claim is failed, not left for a lease to expire: the next sweep tries it again, once.
    assert nudge_rows(sessions) == [(broken, 1, "failed"), (fine, 1, "sent")]
    assert "a renderer bug" in caplog.text
    assert len(posted(emu)) == 1


def test_a_batch_that_raises_before_its_claim_does_not_stop_the_sweep(
    sessions: Sessions,
    emu: Emulator,
    clock: Clock,
    nudger: Nudger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = _flag(sessions, emu, clock, 1, GRACE), _flag(sessions, emu, clock, 2, LINUS)
    real_claim = claim_nudges

    def claim(s: Session, team_id: str, comment_ids: list[int], level: int, *, now: datetime) -> Any:
        if broken in comment_ids:
            raise RuntimeError("the database said no")
        return real_claim(s, team_id, comment_ids, level, now=now)

    monkeypatch.setattr("bot.nudges.claim_nudges", claim)
    clock.advance(timedelta(hours=24))

    assert [(o.comment_id, o.status) for o in nudger.sweep(TEAM)] == [(fine, "sent")]
    assert nudge_rows(sessions) == [(fine, 1, "sent")]
    assert "the database said no" in caplog.text


def test_a_batch_drawn_again_shows_answered_comments_closed_without_buttons(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace, _ = _graces_and_linuss(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    nudger.sweep(TEAM)
    with sessions.begin() as s:
        [message] = [m for m in s.scalars(select(PostedMessage)) if GRACE in m.recipe]
        recipe = recipe_of(message)
        close(s, TEAM, Reach.channel(CHANNEL), grace[0], state="answered", by=GRACE, at=clock.now)

    with sessions.begin() as s:
        redrawn = redraw_nudge(s, TEAM, recipe, clock.now + timedelta(hours=1), {})
        assert redraw_nudge(s, "T0OTHER", recipe, clock.now, {}) is None
        assert redraw_nudge(s, TEAM, {"level": "what"}, clock.now, {}) is None

    assert redrawn is not None
    assert redrawn["text"] == f"<@{GRACE}>, 3 comments wait for you, oldest 1 day."
    assert _shown({"blocks": redrawn["blocks"]}) == grace[1:]
    assert f"*#{grace[0]}* on" in json.dumps(redrawn["blocks"])
    assert "answered" in json.dumps(redrawn["blocks"])


# ---- nudges folded into the digest -------------------------------------------------------------------

# Monday 9 March 2026, 09:00 UTC: the channel's digest slot (the default, Monday 09:00 UTC).
MONDAY_SLOT = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _friday_flags(sessions: Sessions, emu: Emulator, clock: Clock) -> list[int]:
    """Four comments on Grace's posts flagged on Friday: each falls due on Saturday, so Monday 09:00."""
    clock.now = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
    grace, _ = _graces_and_linuss(sessions, emu, clock)
    with sessions.begin() as s:
        for comment in s.scalars(select(Comment).where(Comment.id.not_in(grace))):
            s.delete(comment)
    return grace


def _digest(sessions: Sessions, emu: Emulator, clock: Clock) -> Any:
    publisher = make_publisher(sessions, emu, clock, compose=compose_digest)
    with sessions.begin() as s:
        channel = s.scalars(select(Channel).where(Channel.channel_id == CHANNEL)).one()
        period = period_for(channel, clock.now)
    return publisher.publish_digest(TEAM, CHANNEL, period)


def test_nudges_due_with_the_digest_go_in_it_and_not_beside_it(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace = _friday_flags(sessions, emu, clock)

    clock.now = MONDAY_SLOT - timedelta(minutes=5)
    assert nudger.sweep(TEAM) == []
    clock.now = MONDAY_SLOT
    # Due now, and the digest is due now: the nudges wait for it.
    assert nudger.sweep(TEAM) == []
    assert nudge_rows(sessions) == []

    outcome = _digest(sessions, emu, clock)

    assert outcome.status == "posted"
    [digest] = posted(emu)
    blocks = json.dumps(digest["args"]["blocks"])
    assert f"*Waiting for you*\\n<@{GRACE}>: 4 comments wait for you, oldest 2 days" in blocks
    assert nudge_rows(sessions) == [(c, 1, "folded") for c in sorted(grace)]
    with sessions.begin() as s:
        assert {n.message_ts for n in s.scalars(select(Nudge))} == {outcome.ts}
    for later in (timedelta(minutes=5), timedelta(hours=2)):
        clock.now = MONDAY_SLOT + later
        assert nudger.sweep(TEAM) == []
    assert _nudges_posted(emu) == []


def test_with_the_digest_off_the_nudge_is_sent_on_time(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace = _friday_flags(sessions, emu, clock)
    with sessions.begin() as s:
        s.scalars(select(Channel).where(Channel.channel_id == CHANNEL)).one().digest_enabled = False

    clock.now = MONDAY_SLOT
    outcomes = nudger.sweep(TEAM)

    assert sorted(o.comment_id for o in outcomes) == sorted(grace)
    [nudge] = _nudges_posted(emu)
    assert nudge["text"] == f"<@{GRACE}>, 4 comments wait for you, oldest 2 days."


def test_a_digest_that_fails_lets_its_nudges_go(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace = _friday_flags(sessions, emu, clock)
    clock.now = MONDAY_SLOT
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500})

    assert _digest(sessions, emu, clock).status == "failed"
    control(emu, "DELETE", "/_emulator/faults")
    assert nudge_rows(sessions) == []

    clock.advance(timedelta(minutes=5))
    assert sorted((o.comment_id, o.status) for o in nudger.sweep(TEAM)) == [
        (c, "sent") for c in sorted(grace)
    ]
    assert len(_nudges_posted(emu)) == 1


def test_a_digest_that_never_comes_holds_its_nudges_an_hour_at_most(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    grace = _friday_flags(sessions, emu, clock)

    clock.now = MONDAY_SLOT + timedelta(minutes=55)
    assert nudger.sweep(TEAM) == []
    clock.now = MONDAY_SLOT + timedelta(hours=1)
    assert sorted(o.comment_id for o in nudger.sweep(TEAM)) == sorted(grace)
    assert len(_nudges_posted(emu)) == 1
    # A digest posted late carries nothing the sweep already sent.
    assert _digest(sessions, emu, clock).status == "posted"
    assert "Waiting for you" not in json.dumps(posted(emu)[-1]["args"]["blocks"])
    assert nudge_rows(sessions) == [(c, 1, "sent") for c in sorted(grace)]


def test_a_nudge_posted_before_batches_is_found_after_a_crash_too(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock, threaded=False)
    clock.advance(timedelta(hours=48))
    with sessions.begin() as s:
        assert len(claim_nudges(s, TEAM, [comment_id], 2, now=clock.now)) == 1
    legacy = {
        "event_type": NUDGE_EVENT_TYPE,
        "event_payload": {"team_id": TEAM, "comment_id": comment_id, "level": 2},
    }
    ts = slack_client(emu).chat_postMessage(channel=CHANNEL, text="nudge", metadata=legacy)["ts"]

    clock.advance(timedelta(minutes=6))

    assert nudger.sweep(TEAM) == [NudgeOutcome(comment_id, 2, "found_after_crash", ts)]
    assert len(_nudges_posted(emu)) == 1
