"""Kept messages: each workspace's and channel's own; edits replace text; deletion and age forget them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.messages import forget_message, forget_messages_before, keep_message, kept_message
from storage.models import Channel

Sessions = sessionmaker[Session]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PUBLIC, PRIVATE = "C0SOCIAL01", "G0PRIVATE1"
TS = "1772441000.000100"


def keep(s: Session, team: str, channel: str, text: str, *, ts: str = TS, replace: bool = False) -> None:
    keep_message(
        s,
        team,
        channel_id=channel,
        ts=ts,
        thread_ts="1772440000.000100",
        user_id="U0GRACE001",
        text=text,
        received_at=NOW,
        replace=replace,
    )


def test_a_kept_message_is_found_only_in_its_own_workspace_and_channel(sessions: Sessions) -> None:
    with sessions.begin() as s:
        for team in ("T1", "T2"):
            for channel in (PUBLIC, PRIVATE):
                ensure_channel(s, team, channel, now=NOW)
        keep(s, "T1", PRIVATE, "private words")
    with sessions.begin() as s:
        found = kept_message(s, "T1", PRIVATE, TS)
        assert found is not None
        assert (found.text, found.thread_ts, found.user_id) == (
            "private words",
            "1772440000.000100",
            "U0GRACE001",
        )
        # The same ts named in another channel, or in another workspace, finds nothing.
        assert kept_message(s, "T1", PUBLIC, TS) is None
        assert kept_message(s, "T2", PRIVATE, TS) is None


def test_an_edit_replaces_the_text_and_a_late_original_does_not(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ensure_channel(s, "T1", PUBLIC, now=NOW)
        keep(s, "T1", PUBLIC, "edited", replace=True)  # the edit's event handled first
        keep(s, "T1", PUBLIC, "original")
    with sessions.begin() as s:
        assert kept_message(s, "T1", PUBLIC, TS).text == "edited"  # type: ignore[union-attr]
        keep(s, "T1", PUBLIC, "edited again", replace=True)
    with sessions.begin() as s:
        assert kept_message(s, "T1", PUBLIC, TS).text == "edited again"  # type: ignore[union-attr]


def test_deletion_age_and_the_channel_row_forget_messages(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ensure_channel(s, "T1", PUBLIC, now=NOW)
        ensure_channel(s, "T2", PUBLIC, now=NOW)
        keep(s, "T1", PUBLIC, "deleted", ts="1.000001")
        keep(s, "T1", PUBLIC, "kept", ts="1.000002")
        keep(s, "T2", PUBLIC, "other workspace", ts="1.000003")
    with sessions.begin() as s:
        assert forget_message(s, "T1", PUBLIC, "1.000001")
        assert not forget_message(s, "T1", PUBLIC, "1.000001")
        assert forget_messages_before(s, "T1", NOW) == 0
        assert forget_messages_before(s, "T1", NOW + timedelta(seconds=1)) == 1
        assert kept_message(s, "T2", PUBLIC, "1.000003") is not None
        # A channel's rows go with it, as its posts do.
        s.execute(delete(Channel).where(Channel.team_id == "T2"))
    with sessions.begin() as s:
        assert kept_message(s, "T2", PUBLIC, "1.000003") is None
