"""The weekly direct message: when a person's week is due in their own zone (pure), which zone it keeps
when Slack gives none, and drawing it again with its comments as they are now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.ledger import Reach, close
from bot.weekly import (
    MAX_LISTED,
    PersonZone,
    compose,
    recipe_of,
    redraw_weekly_dm,
    render_weekly_dm,
    week_of,
    zone_of,
)
from storage.channels import ensure_channel
from storage.models import Comment, Post
from storage.person_zones import remember_zone
from storage.weekly_dms import get_person, set_weekly_dm, taking_dm

Sessions = sessionmaker[Session]
TEAM, CHANNEL, GRACE, ADA = "T1", "C0SOCIAL01", "U0GRACE001", "U0ADA00001"
NOW = datetime(2026, 12, 14, 15, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "start", "due"),
    [
        # Monday 14 December 2026: New York is UTC-5, so 09:00 there is 14:00 UTC.
        pytest.param(
            "America/New_York", utc(2026, 12, 14, 13, 59), utc(2026, 12, 14), utc(2026, 12, 14, 14), id="ny"
        ),
        # Sunday 23:00 in New York is Monday 04:00 UTC: still the week before, there.
        pytest.param(
            "America/New_York", utc(2026, 12, 14, 4), utc(2026, 12, 7), utc(2026, 12, 7, 14), id="ny-sunday"
        ),
        # After the clocks change (8 March 2027), 09:00 in New York is 13:00 UTC.
        pytest.param(
            "America/New_York", utc(2027, 3, 15, 13), utc(2027, 3, 15), utc(2027, 3, 15, 13), id="ny-dst"
        ),
        # Monday 01:00 in Tokyo is Sunday 16:00 UTC: Tokyo's Monday is the week's.
        pytest.param(
            "Asia/Tokyo", utc(2026, 12, 13, 16), utc(2026, 12, 14), utc(2026, 12, 14, 0), id="tokyo"
        ),
        pytest.param(
            "UTC", utc(2026, 12, 20, 23, 59), utc(2026, 12, 14), utc(2026, 12, 14, 9), id="utc-sunday"
        ),
    ],
)
def test_a_week_is_the_persons_own_monday_and_comes_at_9am_there(
    zone: str, now: datetime, start: datetime, due: datetime
) -> None:
    week = week_of(zone, now)
    assert (week.start, week.due) == (start, due)


def _post(s: Session, owner: str, url: str, channel: str = CHANNEL) -> Post:
    post = Post(
        team_id=TEAM,
        channel_id=channel,
        canonical_url=url,
        url=url,
        platform="instagram",
        owner_user_id=owner,
        shared_at=NOW - timedelta(days=2),
    )
    s.add(post)
    s.flush()
    return post


def _comment(s: Session, post: Post, text: str, hours: int) -> Comment:
    comment = Comment(
        team_id=TEAM,
        post_id=post.id,
        channel_id=post.channel_id,
        text=text,
        flagged_by=ADA,
        flagged_at=NOW - timedelta(hours=hours),
    )
    s.add(comment)
    s.flush()
    return comment


def test_a_zone_slack_did_not_give_falls_back_to_the_latest_posts_channel_then_utc(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        set_weekly_dm(s, TEAM, GRACE, on=True, now=NOW)
        person = get_person(s, TEAM, GRACE)
        assert person is not None
        assert zone_of(s, TEAM, person, NOW) == PersonZone("UTC", own=False)
        assert "in UTC (UTC)" in zone_of(s, TEAM, person, NOW).note()
        ensure_channel(s, TEAM, CHANNEL, timezone="Europe/Paris", now=NOW)
        _post(s, GRACE, "https://instagram.com/p/one")
        assert zone_of(s, TEAM, person, NOW) == PersonZone("Europe/Paris", own=False, channel_id=CHANNEL)
        assert f"in <#{CHANNEL}>'s time zone (Europe/Paris)" in zone_of(s, TEAM, person, NOW).note()
        remember_zone(s, TEAM, GRACE, "Not/A_Zone", now=NOW)
        assert zone_of(s, TEAM, person, NOW).name == "Europe/Paris"
        remember_zone(s, TEAM, GRACE, "America/New_York", now=NOW)
        assert zone_of(s, TEAM, person, NOW) == PersonZone("America/New_York")
        assert taking_dm(s, TEAM, [GRACE, ADA]) == {GRACE}
        set_weekly_dm(s, TEAM, GRACE, on=False, now=NOW)
        assert taking_dm(s, TEAM, [GRACE, ADA]) == set()
        # Another workspace's person of the same id is someone else.
        assert get_person(s, "T2", GRACE) is None


def test_drawn_again_it_shows_its_comments_as_they_are_now_and_only_its_persons(sessions: Sessions) -> None:
    reach = Reach(frozenset({CHANNEL}), owner=GRACE)
    zone = PersonZone("America/New_York")
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        graces = _post(s, GRACE, "https://instagram.com/p/graces")
        adas = _post(s, ADA, "https://instagram.com/p/adas")
        first = _comment(s, graces, "Is the blue one back?", 30)
        second = _comment(s, graces, "Do you ship to Norway?", 20)
        _comment(s, adas, "Where is the FAQ?", 40)
        summary = compose(s, TEAM, reach, at=NOW, zone=zone)
        assert [c.id for c, _ in summary.comments] == [first.id, second.id]
        recipe = json.loads(json.dumps(recipe_of(summary, reach, NOW)))
        first_id, second_id = first.id, second.id
    drawn = json.dumps(render_weekly_dm(summary, NOW))
    assert "Where is the FAQ?" not in drawn
    assert drawn.index("Is the blue one back?") < drawn.index("Do you ship to Norway?")

    with sessions.begin() as s:
        assert close(s, TEAM, reach, first_id, state="answered", by=GRACE, at=NOW) is not None
        again = redraw_weekly_dm(s, TEAM, recipe, NOW + timedelta(hours=1), {})
    assert again is not None
    assert again["text"].startswith("Your week on twoway: 1 comment on your posts is waiting")
    buttons = [b for b in again["blocks"] if b["type"] == "actions"]
    assert [b["elements"][0]["value"] for b in buttons] == [str(second_id)]
    assert f"~#{first_id}~" in json.dumps(again["blocks"])
    assert f"answered by <@{GRACE}>" in json.dumps(again["blocks"])

    with sessions.begin() as s:
        assert redraw_weekly_dm(s, TEAM, {"user_id": GRACE}, NOW, {}) is None
        # Another workspace's ledger has nothing of it.
        elsewhere = redraw_weekly_dm(s, "T2", recipe, NOW, {})
    assert elsewhere is not None
    assert "Is the blue one back?" not in json.dumps(elsewhere)


def test_many_waiting_comments_list_the_oldest_with_buttons_and_say_how_many_more(sessions: Sessions) -> None:
    reach = Reach(frozenset({CHANNEL}), owner=GRACE)
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        graces = _post(s, GRACE, "https://instagram.com/p/graces")
        for n in range(MAX_LISTED + 9):
            _comment(s, graces, f"Question {n}?", 100 - n)
        summary = compose(s, TEAM, reach, at=NOW, zone=PersonZone("UTC"))
    shown = render_weekly_dm(summary, NOW)
    assert len(shown["blocks"]) <= 50
    assert sum(b["type"] == "actions" for b in shown["blocks"]) == MAX_LISTED
    assert "Question 0?" in json.dumps(shown["blocks"])
    assert "and 9 more: your Home tab lists them, or `/twoway unanswered me` in each channel." in json.dumps(
        shown["blocks"]
    )
