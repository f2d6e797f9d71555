"""The reads behind `bot.relevance.LedgerView`: each is one workspace's, and the defaults stand in for a
channel twoway hasn't seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.channels import channel_emojis, ensure_channel, get_channel
from storage.event_claims import claim_event, in_hand, record_event_done, record_event_failed, take_over_event
from storage.posts import SharedLink, record_share, shares_message

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
LINK = SharedLink("https://x.com/a/status/1", "https://x.com/a/status/1", "x")
DEFAULTS = frozenset({"speech_balloon", "white_check_mark", "no_entry_sign"})


def test_a_message_shares_a_post_only_in_its_own_workspace_and_channel(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        ensure_channel(s, "T1", "C1", now=NOW)
        record_share(s, "T1", channel_id="C1", message_ts="1.1", user_id="U1", link=LINK, shared_at=NOW)
    with sessions() as s:
        assert shares_message(s, "T1", "C1", "1.1")
        assert not shares_message(s, "T2", "C1", "1.1")
        assert not shares_message(s, "T1", "C2", "1.1")
        assert not shares_message(s, "T1", "C1", "1.2")


def test_a_channels_emojis_are_its_settings_or_the_defaults(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        channel = ensure_channel(s, "T1", "C1", now=NOW)
        channel.flag_emoji = "raising_hand"
    with sessions() as s:
        assert get_channel(s, "T1", "C1") is not None
        assert channel_emojis(s, "T1", "C1") == {"raising_hand", "white_check_mark", "no_entry_sign"}
        assert channel_emojis(s, "T2", "C1") == DEFAULTS


def test_a_messages_event_is_in_hand_in_its_own_workspace_until_it_is_done(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        claim_event(s, "T1", "Ev1", body="{}", replica="a", now=NOW, message_ts="1.1")
        claim_event(s, "T1", "Ev2", body="{}", replica="a", now=NOW)
    with sessions() as s:
        assert in_hand(s, "T1", "1.1")
        assert not in_hand(s, "T2", "1.1")
        # Another event in hand, about no message or another one, says nothing of this message.
        assert not in_hand(s, "T1", "1.2")
    with sessions.begin() as s:
        record_event_failed(s, "T1", "Ev1", claimed_at=NOW, error="boom")
    with sessions() as s:
        assert in_hand(s, "T1", "1.1"), "a failed event waits for another attempt"
    with sessions.begin() as s:
        assert (
            take_over_event(s, "T1", "Ev1", replica="b", now=LATER, stale_before=LATER, max_attempts=3)
            is not None
        )
        record_event_done(s, "T1", "Ev1", claimed_at=LATER)
    with sessions() as s:
        assert not in_hand(s, "T1", "1.1")
