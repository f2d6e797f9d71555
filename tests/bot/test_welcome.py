"""What the welcome says about when digests post, and in whose time zone."""

from __future__ import annotations

from bot.welcome import Arrival, digest_line

CHANGE = "Change it with `/twoway schedule fri 4pm Europe/Paris`."


def test_the_inviters_zone_is_named_as_theirs() -> None:
    arrival = Arrival(news=True, weekday=0, minute=540, zone="America/New_York", zone_of="U1")
    assert (
        digest_line(arrival)
        == f"Digests post Mondays at 09:00 America/New_York (<@U1>'s time zone). {CHANGE}"
    )


def test_a_zone_slack_wouldnt_give_leaves_utc_and_says_so() -> None:
    arrival = Arrival(news=True, weekday=0, minute=540, zone="UTC", unread="U1")
    assert digest_line(arrival) == (
        f"Digests post Mondays at 09:00 UTC (I couldn't read <@U1>'s time zone from Slack). {CHANGE}"
    )


def test_a_channel_twoway_knew_keeps_its_schedule_and_a_fixed_offset_says_so() -> None:
    arrival = Arrival(news=True, weekday=4, minute=16 * 60, zone="Etc/GMT-2")
    assert digest_line(arrival) == (
        f"Digests post Fridays at 16:00 Etc/GMT-2, UTC+02:00 all year with no daylight saving. {CHANGE}"
    )
