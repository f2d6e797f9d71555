"""Which events can change the ledger (`bot.relevance.ignored_because`): a table of event shapes, as
Slack sends them (https://docs.slack.dev/reference/events/message and its subtypes,
https://docs.slack.dev/reference/events/reaction_added), against a fixed view of what is tracked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import relevance
from bot.relevance import IgnoredCount, ignored_because

TEAM, CHANNEL = "T0TWOWAY1", "C0SOCIAL01"
POST_TS = "1712345678.000100"  # a message sharing a post
OTHER_TS = "1712345679.000200"  # a message sharing none
IN_FLIGHT_TS = "1712345679.000300"  # a message whose event is still being handled
LINK = "https://x.com/acme/status/1234567890"
NAMED_SITE = "blog.acme.com"
DOC = "https://docs.google.com/document/d/1abc/edit"


class View:
    """A post shared at POST_TS in CHANNEL; the channel's emojis are the defaults plus :raising_hand:."""

    def is_tracked_thread(self, team_id: str, channel_id: str, ts: str) -> bool:
        return (team_id, channel_id, ts) == (TEAM, CHANNEL, POST_TS)

    def uses_emoji(self, team_id: str, channel_id: str, emoji: str) -> bool:
        return emoji in {"raising_hand", "white_check_mark", "no_entry_sign"}

    def may_share_soon(self, team_id: str, ts: str) -> bool:
        return ts == IN_FLIGHT_TS

    def names_site(self, team_id: str, channel_id: str, hosts: list[str]) -> bool:
        return (team_id, channel_id) == (TEAM, CHANNEL) and NAMED_SITE in hosts


def delivery(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": event}


def message(text: str = "lunch?", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": CHANNEL, "user": "U1", "text": text, "ts": "1712345680.1", **extra}


def reaction(
    name: str, kind: str = "reaction_added", item_type: str = "message", ts: str = OTHER_TS
) -> dict[str, Any]:
    item = {"type": item_type, "channel": CHANNEL, "ts": ts}
    return {"type": kind, "user": "U1", "reaction": name, "item": item}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (message(), relevance.CHATTER),
        (message(thread_ts=OTHER_TS), relevance.UNTRACKED_REPLY),
        (message(thread_ts=IN_FLIGHT_TS), None),
        (message(subtype="channel_join"), relevance.OTHER_SUBTYPE),
        (message(f"see <{LINK}>"), None),
        (message(f"see <{LINK}>", thread_ts=OTHER_TS), None),
        # Another site's link may be a post only where the channel names that site.
        (message(f"see <{DOC}>"), relevance.CHATTER),
        (message(f"see <{DOC}>", thread_ts=OTHER_TS), relevance.UNTRACKED_REPLY),
        (message(f"see <{DOC}>", thread_ts=POST_TS), None),
        (message("launch: https://www.blog.acme.com/launch"), None),
        (message(f"<{DOC}> and <{LINK}>"), None),
        (message("14 comments, 3 replies", thread_ts=POST_TS), None),
        (message("nice", thread_ts=POST_TS, subtype="thread_broadcast"), None),
        (message("14 comments", thread_ts=POST_TS, subtype="bot_message", bot_id="B1"), None),
        (message(channel=None), None),
        (
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "message": {"ts": OTHER_TS, "text": "typo fixed"},
                "previous_message": {"ts": OTHER_TS, "text": "typo"},
            },
            relevance.UNTRACKED_EDIT,
        ),
        (
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "message": {"ts": OTHER_TS, "text": f"now with <{LINK}>"},
            },
            None,
        ),
        (
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "message": {"ts": OTHER_TS, "text": "link gone"},
                "previous_message": {"ts": OTHER_TS, "text": f"<{LINK}>"},
            },
            None,
        ),
        (
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "message": {"ts": "1712345690.1", "thread_ts": POST_TS, "text": "kept reply, edited"},
            },
            None,
        ),
        (
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": CHANNEL,
                "deleted_ts": POST_TS,
                "previous_message": {"ts": POST_TS, "text": "its link was unfurled away"},
            },
            None,
        ),
        (
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": CHANNEL,
                "deleted_ts": OTHER_TS,
                "previous_message": {"ts": OTHER_TS, "text": "chatter"},
            },
            relevance.UNTRACKED_EDIT,
        ),
        ({"type": "message", "subtype": "message_deleted", "channel": CHANNEL, "deleted_ts": OTHER_TS}, None),
        (reaction("tada"), relevance.UNUSED_REACTION),
        (reaction("raising_hand"), None),
        (reaction("raising_hand::skin-tone-3"), None),
        (reaction("white_check_mark", "reaction_removed"), None),
        (reaction("tada", "reaction_removed"), relevance.UNUSED_REACTION),
        # :x: takes back a message's posts: it matters on a message that shares one, nowhere else.
        (reaction("x", ts=POST_TS), None),
        (reaction("x"), relevance.UNUSED_REACTION),
        (reaction("x", "reaction_removed", ts=POST_TS), relevance.UNUSED_REACTION),
        (reaction("raising_hand", item_type="file"), relevance.NOT_A_MESSAGE),
        ({"type": "member_joined_channel", "channel": CHANNEL, "user": "U1"}, None),
        ({"type": "channel_archive", "channel": CHANNEL}, None),
        ({"type": "app_mention", "channel": CHANNEL, "user": "U1", "text": "hi", "ts": "1.2"}, None),
        ({"type": "app_home_opened", "user": "U1"}, None),
        ({"type": "app_uninstalled"}, None),
        ({"type": "tokens_revoked", "tokens": {"bot": ["U1"]}}, None),
    ],
)
def test_an_event_is_ignored_only_when_it_cannot_change_the_ledger(
    event: dict[str, Any], reason: str | None
) -> None:
    assert ignored_because(delivery(event), View()) == reason


def test_a_delivery_with_no_event_or_workspace_is_left_to_the_listeners() -> None:
    assert ignored_because({"type": "event_callback", "team_id": TEAM}, View()) is None
    assert ignored_because({"type": "event_callback", "event": message()}, View()) is None


def test_ignored_events_are_logged_by_reason_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    count = IgnoredCount(lambda: now[0])
    caplog.set_level(logging.INFO, logger="bot.relevance")
    for reason in (relevance.CHATTER, relevance.CHATTER, relevance.UNUSED_REACTION):
        count.add(reason)
        now[0] += timedelta(seconds=10)
    assert caplog.messages == []
    now[0] += timedelta(seconds=31)
    count.add(relevance.CHATTER)
    assert caplog.messages == [
        f"ignored 4 events that can't change the ledger: 3 {relevance.CHATTER}; 1 {relevance.UNUSED_REACTION}"
    ]
    count.add(relevance.CHATTER)
    assert len(caplog.messages) == 1


def test_flushing_logs_the_counts_not_logged_yet_once(caplog: pytest.LogCaptureFixture) -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    count = IgnoredCount(lambda: now)
    caplog.set_level(logging.INFO, logger="bot.relevance")
    count.flush()
    assert caplog.records == []
    for reason in (relevance.UNTRACKED_REPLY, relevance.CHATTER, relevance.CHATTER):
        count.add(reason)
    count.flush()
    counts = f"2 {relevance.CHATTER}; 1 {relevance.UNTRACKED_REPLY}"
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, f"ignored 3 events that can't change the ledger: {counts}")
    ]
    count.flush()
    assert len(caplog.records) == 1
    # What is counted after a flush waits its own minute.
    count.add(relevance.CHATTER)
    assert len(caplog.records) == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
FIELDS = [
    "type",
    "subtype",
    "channel",
    "text",
    "blocks",
    "ts",
    "thread_ts",
    "deleted_ts",
    "message",
    "previous_message",
    "reaction",
    "item",
]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8),
    st.sampled_from(["message", "reaction_added", "reaction_removed"]),
)
def test_no_event_shape_makes_the_decision_raise(event: dict[str, Any], kind: str) -> None:
    """A signed payload of any shape gets an answer, never a 500 from the ack path."""
    event.setdefault("type", kind)
    reason = ignored_because(delivery(event), View())
    assert reason is None or isinstance(reason, str)
