"""`/twoway schedule` as people write it: days, times and zones in their common forms, a question with
choices for anything ambiguous, and a clear refusal for anything unknown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.grammar import (
    WEEKDAYS,
    BadInput,
    ScheduleQuestion,
    ScheduleRequest,
    parse_command,
    schedule_text,
)
from bot.zones import ABBREVIATIONS, ZoneChoices, ZoneFound, ZoneUnknown, read_zone, zone, zone_names

FRI_4PM = ScheduleRequest(weekday=4, minute=16 * 60)

FORMS = [
    # days
    ("mon 09:00", ScheduleRequest(weekday=0, minute=540)),
    ("MONDAY 09:00", ScheduleRequest(weekday=0, minute=540)),
    ("mondays 09:00", ScheduleRequest(weekday=0, minute=540)),
    ("Tues 09:00", ScheduleRequest(weekday=1, minute=540)),
    ("thurs 09:00", ScheduleRequest(weekday=3, minute=540)),
    ("Sundays 09:00", ScheduleRequest(weekday=6, minute=540)),
    # times
    ("fri 4pm", FRI_4PM),
    ("fri 4 pm", FRI_4PM),
    ("fri 4PM", FRI_4PM),
    ("fri 4p.m.", FRI_4PM),
    ("friday 16:00", FRI_4PM),
    ("fri 4:30pm", ScheduleRequest(weekday=4, minute=16 * 60 + 30)),
    ("fri 09:00", ScheduleRequest(weekday=4, minute=540)),
    ("fri 9:00", ScheduleRequest(weekday=4, minute=540)),
    ("fri 09", ScheduleRequest(weekday=4, minute=540)),
    ("fri 16", FRI_4PM),
    ("fri 0", ScheduleRequest(weekday=4, minute=0)),
    ("fri noon", ScheduleRequest(weekday=4, minute=720)),
    ("fri midnight", ScheduleRequest(weekday=4, minute=0)),
    ("fri 12am", ScheduleRequest(weekday=4, minute=0)),
    ("fri 12pm", ScheduleRequest(weekday=4, minute=720)),
    ("4pm fri", FRI_4PM),
    # zones
    ("fri 4pm Paris", ScheduleRequest(weekday=4, minute=960, zone="Europe/Paris")),
    ("fri 4pm paris", ScheduleRequest(weekday=4, minute=960, zone="Europe/Paris")),
    ("fri 4pm europe/paris", ScheduleRequest(weekday=4, minute=960, zone="Europe/Paris")),
    ("fri 4pm new york", ScheduleRequest(weekday=4, minute=960, zone="America/New_York")),
    ("fri 4pm New_York", ScheduleRequest(weekday=4, minute=960, zone="America/New_York")),
    ("fri 4pm sao paulo", ScheduleRequest(weekday=4, minute=960, zone="America/Sao_Paulo")),
    ("fri 4pm São Paulo", ScheduleRequest(weekday=4, minute=960, zone="America/Sao_Paulo")),
    ("fri 4pm Calcutta", ScheduleRequest(weekday=4, minute=960, zone="Asia/Kolkata")),
    ("fri 4pm UTC", ScheduleRequest(weekday=4, minute=960, zone="UTC")),
    ("fri 4pm UTC+2", ScheduleRequest(weekday=4, minute=960, zone="Etc/GMT-2")),
    ("fri 4pm GMT-3", ScheduleRequest(weekday=4, minute=960, zone="Etc/GMT+3")),
    ("fri 4pm +14", ScheduleRequest(weekday=4, minute=960, zone="Etc/GMT-14")),
    ("fri 4pm UTC+0", ScheduleRequest(weekday=4, minute=960, zone="UTC")),
    # parts alone change only themselves
    ("Paris", ScheduleRequest(zone="Europe/Paris")),
    ("4pm", ScheduleRequest(minute=960)),
    ("wed", ScheduleRequest(weekday=2)),
    ("off", ScheduleRequest(off=True)),
    ("", ScheduleRequest()),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_schedule_forms(text: str, expected: ScheduleRequest) -> None:
    assert parse_command(f"schedule {text}") == expected


def _question(text: str) -> ScheduleQuestion:
    parsed = parse_command(f"schedule {text}")
    assert isinstance(parsed, ScheduleQuestion), parsed
    return parsed


def test_an_abbreviation_asks_which_zone() -> None:
    question = _question("mon 9am EST")
    assert question.question.startswith("`EST` means more than one time zone.")
    assert [o.request for o in question.options] == [
        ScheduleRequest(weekday=0, minute=540, zone=z)
        for z in ("America/New_York", "America/Toronto", "Etc/GMT+5")
    ]
    assert question.options[0].label == "Mondays 09:00 America/New_York (US Eastern)"


@pytest.mark.parametrize(("abbreviation", "includes"), [("IST", "Asia/Kolkata"), ("CST", "Asia/Shanghai")])
def test_abbreviations_that_mean_several_places_ask(abbreviation: str, includes: str) -> None:
    zones = {o.request.zone for o in _question(f"mon 09:00 {abbreviation}").options}
    assert includes in zones
    assert len(zones) >= 2


def test_a_bare_hour_asks_morning_or_evening() -> None:
    question = _question("mon 9")
    assert "`9` may be in the morning or the evening" in question.question
    assert [o.request.minute for o in question.options] == [9 * 60, 21 * 60]
    assert [o.request.minute for o in _question("mon 12").options] == [0, 12 * 60]


def test_a_place_in_several_zones_asks() -> None:
    assert {o.request.zone for o in _question("mon 09:00 Eastern").options} == {
        "America/New_York",
        "America/Toronto",
    }


def test_an_offset_with_no_fixed_zone_offers_the_places_that_keep_it() -> None:
    question = _question("mon 09:00 +05:30")
    assert "Asia/Kolkata" in {o.request.zone for o in question.options}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mon 09:00 Atlantis", "I don't know the time zone `Atlantis`."),
        ("mon 09:00 pariss", "Did you mean `Europe/Paris`?"),
        ("mon 09:00 UTC+15", "`UTC+15` isn't a UTC offset; offsets go from UTC-12 to UTC+14."),
        ("mon 13pm", "`13pm` isn't a time of day; with am or pm, hours go from 1 to 12."),
        ("mon 25:00", "`25:00` isn't a time of day"),
        ("someday", "I couldn't read `someday` as a weekday, a time or a time zone"),
    ],
)
def test_unknown_forms_are_refused_with_examples(text: str, reason: str) -> None:
    parsed = parse_command(f"schedule {text}")
    assert isinstance(parsed, BadInput)
    assert reason in parsed.reason


# An IANA name read back exactly: every name but the abbreviations, which always ask.
_ZONES = sorted(n for n in zone_names() if n.casefold() not in ABBREVIATIONS)
_REQUESTS = st.builds(
    ScheduleRequest,
    weekday=st.integers(0, 6),
    minute=st.integers(0, 1439),
    zone=st.none() | st.sampled_from(_ZONES),
)


@given(_REQUESTS)
def test_every_schedule_reads_back_from_its_button_words(request: ScheduleRequest) -> None:
    assert parse_command(f"schedule {schedule_text(request)}") == request


@given(
    st.integers(0, 6),
    st.integers(1, 12),
    st.integers(0, 59),
    st.sampled_from(["am", "pm", " am", " PM", "a.m."]),
    st.sampled_from(["", "s"]),
)
def test_twelve_hour_times_are_read_as_written(
    weekday: int, hour: int, minute: int, meridiem: str, plural: str
) -> None:
    day = WEEKDAYS[weekday][: 3 if not plural else None] + plural
    parsed = parse_command(f"schedule {day} {hour}:{minute:02d}{meridiem}")
    evening = "p" in meridiem.lower()
    assert parsed == ScheduleRequest(weekday=weekday, minute=(hour % 12 + 12 * evening) * 60 + minute)


@given(st.text(max_size=40))
def test_any_zone_text_is_one_zone_a_question_or_a_refusal(text: str) -> None:
    reading = read_zone(text)
    match reading:
        case ZoneFound():
            zone(reading.zone)
        case ZoneChoices():
            assert len(reading.options) >= 2 or "keep it all year" in reading.why
            for option in reading.options:
                zone(option.zone)
        case ZoneUnknown():
            assert reading.reason


@given(st.text(max_size=80))
def test_any_schedule_text_parses_without_raising(text: str) -> None:
    parsed = parse_command(f"schedule {text}")
    assert isinstance(parsed, ScheduleRequest | ScheduleQuestion | BadInput)
    if isinstance(parsed, ScheduleQuestion):
        assert 2 <= len(parsed.options) <= 10 or len(parsed.options) == 1
        for option in parsed.options:
            assert parse_command(f"schedule {schedule_text(option.request)}") == option.request


def test_every_iana_name_but_the_abbreviations_is_read_as_itself() -> None:
    misread = [n for n in _ZONES if read_zone(n) != ZoneFound(n) or read_zone(n.lower()) != ZoneFound(n)]
    assert misread == []
    assert {n for n in zone_names() if n.casefold() in ABBREVIATIONS} == {"EST", "MST"}
