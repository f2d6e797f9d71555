"""The claims' side of `bot.relevance.LedgerView`: a message's own event in hand, in its workspace.

What the view reads of shares, channels and homes is tested through the view
(`tests/bot/test_ledger_view.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.event_claims import claim_event, in_hand, record_event_done, record_event_failed, take_over_event

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


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
