from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.render import Message
from bot.render_numbers import (
    EDIT_NUMBERS_ACTION,
    REPLIES_AUDIENCE_ACTION,
    REPLIES_OURS_ACTION,
    UNDO_NUMBERS_ACTION,
    ModalPlace,
    ReadBack,
    compact,
    numbers_from,
    rate_line,
    read_numbers_form,
    render_numbers_modal,
    render_read_back,
)
from bot.summary import MAX_COUNT, Engagement
from storage.models import Post, Snapshot

E = Engagement
POST = Post(
    id=7,
    team_id="T1",
    channel_id="C1",
    canonical_url="https://mastodon.social/@a/1",
    url="https://mastodon.social/@a/1",
    platform="mastodon",
    owner_user_id="U1",
    message_ts="1700000000.000100",
    shared_at=datetime(2026, 1, 1, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0"),
        (951, "951"),
        (1000, "1k"),
        (1200, "1.2k"),
        (1204, "1,204"),
        (2_000_000, "2M"),
        (2_500_000, "2.5M"),
    ],
)
def test_compact(count: int, text: str) -> None:
    assert compact(count) == text


@pytest.mark.parametrize(
    ("engagement", "line"),
    [
        (E(14, 3), "Reply rate 21% (3 of 14)."),
        (E(2, 6), "Reply rate 100% (2 of 2)."),
        (E(0, 4), "No comments received, so no reply rate yet."),
        (E(10, 1, views=10**6), "Reply rate 10% (1 of 10)."),
    ],
)
def test_rate_line_never_mixes_in_reach(engagement: Engagement, line: str) -> None:
    assert rate_line(engagement) == line


def _buttons(message: Message) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in message["blocks"]
        for element in block.get("elements") or []
        if element.get("type") == "button"
    }


@pytest.mark.parametrize(
    ("reading", "fix"),
    [("audience", (REPLIES_OURS_ACTION, "5:6")), ("ours", (REPLIES_AUDIENCE_ACTION, "5:0")), (None, None)],
)
def test_read_back_says_the_reading_and_offers_the_other(
    reading: str | None, fix: tuple[str, str] | None
) -> None:
    shown = render_read_back(ReadBack(POST, E(6, 0, 3, 1200, views=2_000_000), 5, replies_read_as=reading))  # type: ignore[arg-type]
    assert shown["text"] == (
        "Recorded for <https://mastodon.social/@a/1|Mastodon post>: 6 comments received, 0 replies sent, "
        "3 shares, 1.2k likes, 2M views. Reply rate 0% (0 of 6)."
    )
    expected = {EDIT_NUMBERS_ACTION: "7:5", UNDO_NUMBERS_ACTION: "5"}
    if fix is not None:
        expected[fix[0]] = fix[1]
    assert _buttons(shown) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ({"comments": "12", "likes": "1,204", "views": "2M"}, E(comments=12, likes=1204, views=2_000_000)),
        (
            {"shares": " 1.2k ", "saves": "", "impressions": "1.234.567"},
            E(shares=1200, impressions=1_234_567),
        ),
        ({"comments": "0"}, E(comments=0)),
        ({"comments": "lots", "likes": "1.204", "views": "-3"}, {"comments", "likes", "views"}),
        ({"replies": str(MAX_COUNT + 1)}, {"replies"}),
        ({}, {"comments"}),
        ({"comments": "  "}, {"comments"}),
    ],
)
def test_the_modal_reads_counts_forgivingly_and_names_each_bad_field(
    typed: dict[str, str], expected: Engagement | set[str]
) -> None:
    values = {
        field: {"count": {"type": "plain_text_input", "value": value}} for field, value in typed.items()
    }
    read = read_numbers_form(values)
    if isinstance(expected, Engagement):
        assert read == expected
    else:
        assert isinstance(read, dict)
        assert set(read) == expected


def test_modal_is_prefilled_and_carries_its_place() -> None:
    place = ModalPlace(7, "C1", 9)
    view = render_numbers_modal(POST, E(1, 2, 3, 4, saves=5), place).to_dict()
    assert ModalPlace.load(view["private_metadata"]) == place
    prefilled = {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"
    }
    assert prefilled == {
        "comments": "1",
        "replies": "2",
        "shares": "3",
        "likes": "4",
        "views": None,
        "impressions": None,
        "saves": "5",
    }
    assert view["title"]["text"] == "Edit numbers"


@pytest.mark.parametrize(
    "metadata",
    [None, "", "[]", "{}", '{"post": "x", "channel": "C1"}', '{"post": 1, "channel": "C1", "snapshot": "2"}'],
)
def test_foreign_metadata_places_nothing(metadata: str | None) -> None:
    assert ModalPlace.load(metadata) is None


NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "recorded_by", "ago", "said"),
    [
        ("fetched", None, timedelta(minutes=10), "fetched from Mastodon 10 minutes ago"),
        ("thread", "U0ADA00001", timedelta(days=2, hours=3), "typed by <@U0ADA00001> 2 days ago"),
        ("command", "U0ADA00001", timedelta(seconds=5), "typed by <@U0ADA00001> under a minute ago"),
        ("command", None, timedelta(hours=1), "typed 1 hour ago"),
        ("import", None, timedelta(days=3), "imported 3 days ago"),
    ],
)
def test_numbers_say_where_they_came_from_and_when(
    source: str, recorded_by: str | None, ago: timedelta, said: str
) -> None:
    snapshot = Snapshot(source=source, recorded_by=recorded_by, recorded_at=NOW - ago)
    assert numbers_from(snapshot, POST, NOW) == said


def test_the_modal_says_where_its_prefilled_numbers_came_from() -> None:
    view = render_numbers_modal(
        POST, E(4, 1, 2, 9), ModalPlace(7, "C1"), prefilled_from="fetched from Mastodon 10 minutes ago"
    ).to_dict()
    assert view["blocks"][0]["text"]["text"] == (
        "Numbers for <https://mastodon.social/@a/1|Mastodon post>. Leave a field empty if you don't know it. "
        "The numbers below were fetched from Mastodon 10 minutes ago."
    )
    plain = render_numbers_modal(POST, None, ModalPlace(7, "C1")).to_dict()
    assert plain["blocks"][0]["text"]["text"].endswith("Leave a field empty if you don't know it.")
