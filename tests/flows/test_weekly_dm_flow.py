"""A person who takes the weekly summary in a direct message: turned on from their Home tab, sent once at
Monday 09:00 in their own zone (however many replicas sweep, and after a crash), their level-1 nudges
skipped, their own reply rate shown to them alone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.nudges import NUDGE_EVENT_TYPE
from bot.render_ledger import WEEKLY_DM_ACTION
from bot.weekly import DM_EVENT_TYPE
from emulator import Emulator, EmulatorSettings
from storage.models import Comment, Nudge, Person, PostedMessage, WeeklyDm
from tests.support.flows import ADA, CHANNEL, GRACE, SECRET, TEAM, Flow, views_of
from tests.support.polling import eventually
from twoway.demo import free_port, local_config
from twoway.runtime import prepare

POST = "https://www.instagram.com/p/C0ffee123/"
CANONICAL = "https://instagram.com/p/C0ffee123"
OTHER = "https://www.instagram.com/p/Ada000111/"
OTHER_CANONICAL = "https://instagram.com/p/Ada000111"
# A Thursday; Grace's Monday 09:00 (America/New_York, UTC-5 in December) is 14:00 UTC four days on.
THURSDAY = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
GRACES_MONDAY_9AM = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)


class SetClock:
    """One clock for twoway and the emulator, set to a moment and running on from it."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        self.at, self.started = at, time.monotonic()

    def __call__(self) -> datetime:
        return self.at + timedelta(seconds=time.monotonic() - self.started)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(THURSDAY)


@pytest.fixture
def flow(db_url: str, clock: SetClock) -> Iterator[Flow]:
    app_port = free_port()
    settings = EmulatorSettings(
        host="127.0.0.1",
        port=0,
        app_url=f"http://127.0.0.1:{app_port}/slack/events",
        signing_secret=SECRET,
        clock=lambda: clock().timestamp(),
    )
    with Emulator(settings) as emulator:
        config = local_config(
            api_url=emulator.api_url, signing_secret=SECRET, database_url=db_url, port=app_port
        )
        runtime = prepare(config, host="127.0.0.1", clock=clock)
        runtime.start_background()
        try:
            yield Flow(emulator, runtime)
        finally:
            runtime.stop()


def sweep(flow: Flow) -> None:
    schedules = flow.runtime.schedules
    assert schedules is not None
    schedules.run_sweep()


def _view(call: dict[str, Any]) -> dict[str, Any]:
    view = call["args"]["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def home_of(flow: Flow, user: str) -> str:
    """The user's Home tab as twoway publishes it now, as text."""
    before = len(flow.calls("views.publish"))
    flow.event({"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": "home"})
    published = eventually(
        lambda: [c for c in flow.calls("views.publish")[before:] if c["args"]["user_id"] == user],
        what=f"the Home tab of {user}",
    )
    return json.dumps(_view(published[-1])["blocks"])


def turn(flow: Flow, user: str, value: str) -> None:
    """The user clicks the Home tab's weekly summary button; returns once the tab is drawn again."""
    before = len(flow.calls("views.publish"))
    clicked = flow._post(
        "/_emulator/action",
        {"team": TEAM, "user": user, "view": "home", "action_id": WEEKLY_DM_ACTION, "value": value},
    )
    assert clicked["ack"]["status"] == 200, clicked
    eventually(lambda: len(flow.calls("views.publish")) > before, what="the Home tab drawn again")


def dms(flow: Flow) -> list[dict[str, Any]]:
    """The weekly messages twoway posted, as chat.postMessage calls."""
    return [
        c
        for c in flow.calls("chat.postMessage")
        if (c["args"].get("metadata") or {}).get("event_type") == DM_EVENT_TYPE
    ]


def nudges_posted(flow: Flow) -> list[dict[str, Any]]:
    return [
        c["args"]
        for c in flow.calls("chat.postMessage")
        if (c["args"].get("metadata") or {}).get("event_type") == NUDGE_EVENT_TYPE
    ]


def comments(flow: Flow) -> list[Comment]:
    with flow.sessions.begin() as s:
        return list(s.scalars(select(Comment).where(Comment.team_id == TEAM).order_by(Comment.id)))


def nudge_states(flow: Flow) -> dict[tuple[int, int], str]:
    with flow.sessions.begin() as s:
        return {
            (n.comment_id, n.level): n.state for n in s.scalars(select(Nudge).where(Nudge.team_id == TEAM))
        }


def set_up_the_week(flow: Flow) -> None:
    """Grace shares a post with numbers and two waiting comments; Ada shares one with one comment."""
    flow.say(GRACE, f"<{POST}>")
    eventually(lambda: flow.calls("reactions.add"), what="Grace's post")
    flow.reply_text(GRACE, f"log {CANONICAL} comments=4 replies=1 likes=30")
    flow.reply_text(ADA, f"flag {CANONICAL} Is the blue one back in stock?")
    flow.reply_text(ADA, f"flag {CANONICAL} Do you ship to Norway?")
    flow.say(ADA, f"<{OTHER}>")
    eventually(lambda: len(flow.calls("reactions.add")) >= 2, what="Ada's post")
    flow.reply_text(GRACE, f"flag {OTHER_CANONICAL} Where is the FAQ?")


def test_turned_on_from_the_home_tab_one_dm_comes_at_monday_9am_in_their_zone(
    flow: Flow, clock: SetClock
) -> None:
    set_up_the_week(flow)
    home = home_of(flow, GRACE)
    assert "Weekly summary in a DM instead of channel nudges:* off" in home
    assert "You answered 1 of 4 comments on your posts in the last 4 weeks (25%)" in home

    turn(flow, GRACE, "on")
    with flow.sessions.begin() as s:
        person = s.get(Person, (TEAM, GRACE))
        assert person is not None
        assert (person.weekly_dm, person.timezone) == (True, "America/New_York")
        assert person.timezone_read_at is not None
    assert [c["args"]["user"] for c in flow.calls("users.info")] == [GRACE]
    assert "Weekly summary in a DM instead of channel nudges:* on" in home_of(flow, GRACE)

    # Friday: Grace's level-1 nudges are skipped; Ada's comment is nudged in the channel as ever.
    clock.set(THURSDAY + timedelta(days=1, minutes=5))
    sweep(flow)
    graces = comments(flow)[0]
    assert [n["text"] for n in nudges_posted(flow)] == [f"<@{ADA}>, 1 comment waits for you, oldest 1 day."]
    assert nudge_states(flow)[(graces.id, 1)] == "skipped"

    # Monday 08:59 in New York (13:59 UTC): not yet.
    clock.set(GRACES_MONDAY_9AM - timedelta(minutes=1))
    sweep(flow)
    assert dms(flow) == []

    clock.set(GRACES_MONDAY_9AM + timedelta(minutes=1))
    sweep(flow)
    sweep(flow)
    [dm] = dms(flow)
    [opened] = [c for c in flow.calls("conversations.open") if c["args"]["users"] == GRACE]
    assert opened
    args = dm["args"]
    assert args["channel"].startswith("D")
    blocks = json.loads(args["blocks"]) if isinstance(args["blocks"], str) else args["blocks"]
    shown = json.dumps(blocks)
    assert args["text"].startswith("Your week on twoway: 2 comments on your posts are waiting for an answer")
    assert shown.index("Is the blue one back in stock?") < shown.index("Do you ship to Norway?")
    assert "Where is the FAQ?" not in shown  # a comment on Ada's post
    assert "4 comments, 1 replies, 0 shares, 30 likes" in shown
    assert "You answered 1 of 4 comments on your posts in the last 4 weeks (25%)" in shown
    assert "America/New_York" in shown
    assert [b["elements"][0]["value"] for b in blocks if b["type"] == "actions"] == [
        str(c.id) for c in comments(flow)[:2]
    ]
    assert len(blocks) <= 50
    kept = [m for m in flow.messages(args["channel"]) if m.get("bot_id")]
    assert [(m.get("metadata") or {}).get("event_type") for m in kept] == [DM_EVENT_TYPE]
    with flow.sessions.begin() as s:
        [row] = s.scalars(select(WeeklyDm).where(WeeklyDm.team_id == TEAM))
        assert (row.user_id, row.state, row.channel_id) == (GRACE, "sent", args["channel"])
        assert row.week_start == datetime(2026, 12, 14, tzinfo=UTC)
        [remembered] = s.scalars(select(PostedMessage).where(PostedMessage.kind == "dm"))
        assert (remembered.channel_id, remembered.ts) == (row.channel_id, row.message_ts)

    # Level 2 still asks the whole channel about Grace's comments.
    asked = [n for n in nudges_posted(flow) if "can anyone take th" in n["text"].lower()]
    assert {n["channel"] for n in asked} == {CHANNEL}
    assert any(f"*#{graces.id}*" in json.dumps(n.get("blocks")) for n in asked)


def test_another_persons_home_tab_never_shows_this_persons_rate(flow: Flow) -> None:
    set_up_the_week(flow)
    graces = home_of(flow, GRACE)
    assert "You answered 1 of 4 comments" in graces
    adas = home_of(flow, ADA)
    assert "1 of 4" not in adas
    assert "25%" not in adas
    assert "No comments were recorded on your posts in the last 4 weeks." in adas
    assert views_of(flow, ADA)


def test_two_replicas_at_monday_9am_send_one_dm(flow: Flow, clock: SetClock, db_url: str) -> None:
    set_up_the_week(flow)
    home_of(flow, GRACE)
    turn(flow, GRACE, "on")
    config = local_config(
        api_url=flow.emulator.api_url, signing_secret=SECRET, database_url=db_url, port=free_port()
    )
    other = prepare(config, host="127.0.0.1", clock=clock)
    try:
        replicas = [flow.runtime.schedules, other.schedules]
        clock.set(GRACES_MONDAY_9AM + timedelta(minutes=2))
        start = threading.Barrier(len(replicas))

        def run(index: int) -> None:
            schedules = replicas[index]
            assert schedules is not None
            start.wait()
            schedules.run_sweep()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(replicas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other.stop()
    assert len(dms(flow)) == 1
    with flow.sessions.begin() as s:
        assert [r.state for r in s.scalars(select(WeeklyDm).where(WeeklyDm.team_id == TEAM))] == ["sent"]


def test_a_dm_sent_before_a_crash_is_found_not_sent_again(flow: Flow, clock: SetClock) -> None:
    set_up_the_week(flow)
    home_of(flow, GRACE)
    turn(flow, GRACE, "on")
    clock.set(GRACES_MONDAY_9AM + timedelta(minutes=1))
    sweep(flow)
    [dm] = dms(flow)
    with flow.sessions.begin() as s:
        [row] = s.scalars(select(WeeklyDm).where(WeeklyDm.team_id == TEAM))
        sent_ts = row.message_ts
        # What a replica that died between posting and recording leaves: its claim, and no message.
        s.execute(
            update(WeeklyDm)
            .where(WeeklyDm.id == row.id)
            .values(state="claimed", message_ts=None, sent_at=None, channel_id=None)
        )
    # Within the lease, nobody takes it over.
    sweep(flow)
    assert len(dms(flow)) == 1
    clock.set(GRACES_MONDAY_9AM + timedelta(minutes=10))
    sweep(flow)
    assert len(dms(flow)) == 1
    assert flow.calls("conversations.history")
    with flow.sessions.begin() as s:
        [row] = s.scalars(select(WeeklyDm).where(WeeklyDm.team_id == TEAM))
        assert (row.state, row.message_ts, row.attempts) == ("sent", sent_ts, 2)
    assert dm


def test_turning_it_off_resumes_nudges_and_sends_no_dm(flow: Flow, clock: SetClock) -> None:
    set_up_the_week(flow)
    home_of(flow, GRACE)
    turn(flow, GRACE, "on")
    turn(flow, GRACE, "off")
    with flow.sessions.begin() as s:
        person = s.get(Person, (TEAM, GRACE))
        assert person is not None
        assert person.weekly_dm is False
    clock.set(THURSDAY + timedelta(days=1, minutes=5))
    sweep(flow)
    graces = comments(flow)[0]
    assert nudge_states(flow)[(graces.id, 1)] == "sent"
    assert any(
        n["text"].startswith(f"<@{GRACE}>, ") and f"*#{graces.id}*" in json.dumps(n.get("blocks"))
        for n in nudges_posted(flow)
    )
    clock.set(GRACES_MONDAY_9AM + timedelta(minutes=1))
    sweep(flow)
    assert dms(flow) == []


def test_the_command_shows_and_changes_the_setting_and_refuses_anything_else(flow: Flow) -> None:
    assert flow.reply_text(GRACE, "dm").startswith("Your weekly summary in a DM is off")
    refused = flow.reply_text(GRACE, "dm yes")
    assert "`yes` isn't `on` or `off`." in refused
    with flow.sessions.begin() as s:
        assert s.get(Person, (TEAM, GRACE)) is None
    on = flow.reply_text(GRACE, "dm on")
    assert on.startswith("Saved. Your weekly summary in a DM is on")
    assert "every Monday at 09:00 in your time zone (America/New_York)" in on
    assert flow.reply_text(GRACE, "dm off").startswith("Saved. Your weekly summary in a DM is off")
    with flow.sessions.begin() as s:
        person = s.get(Person, (TEAM, GRACE))
        assert person is not None
        assert (person.weekly_dm, person.timezone) == (False, "America/New_York")


def test_a_dm_slack_kept_but_answered_500_to_is_found_not_sent_twice(flow: Flow, clock: SetClock) -> None:
    set_up_the_week(flow)
    home_of(flow, GRACE)
    turn(flow, GRACE, "on")
    # The nudges due by Monday morning go first, so that the fault meets the direct message.
    clock.set(GRACES_MONDAY_9AM - timedelta(minutes=1))
    sweep(flow)
    assert dms(flow) == []
    flow._post("/_emulator/faults", {"method": "chat.postMessage", "status": 500, "kept": True, "count": 1})
    clock.set(GRACES_MONDAY_9AM + timedelta(minutes=1))
    sweep(flow)
    [dm] = dms(flow)
    channel = dm["args"]["channel"]
    kept = [m for m in flow.messages(channel) if (m.get("metadata") or {}).get("event_type") == DM_EVENT_TYPE]
    assert len(kept) == 1
    assert flow.calls("conversations.history")
    with flow.sessions.begin() as s:
        [row] = s.scalars(select(WeeklyDm).where(WeeklyDm.team_id == TEAM))
        assert (row.state, row.message_ts, row.attempts) == ("sent", kept[0]["ts"], 1)
