"""The inbox's claims on Slack's events (`bot.inbox`), read back to know when the app is done with them.

The app acknowledges an event once its claim is committed (state ``handling``, one row per event id,
however often Slack delivers it) and settles the claim, ``done`` or ``failed``, only when the event's
listeners have finished. A test that checks something did *not* happen, a duplicate handled again, a
withdrawn flag kept, waits for every claim to settle first, instead of sleeping and hoping.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ProcessedEvent


def settled_events(
    sessions: sessionmaker[Session], team_id: str, *, expected: int
) -> list[ProcessedEvent] | None:
    """The team's ``expected`` event claims once none is still being handled, oldest first; else None.

    For `tests.support.polling.eventually`, once every delivery the test made has been acknowledged:
    each event has its claim by then, and a redelivery taken over is ``handling`` again. More claims
    than ``expected`` fail the test at once, as an event handled that nobody sent.
    """
    assert expected > 0, "no claims to wait for"
    with sessions() as s:
        rows = list(
            s.scalars(
                select(ProcessedEvent)
                .where(ProcessedEvent.team_id == team_id)
                .order_by(ProcessedEvent.received_at, ProcessedEvent.event_id)
            )
        )
    if len(rows) > expected:
        pytest.fail(f"{len(rows)} events claimed, {expected} expected: {[r.event_id for r in rows]}")
    if len(rows) < expected or any(row.state == "handling" for row in rows):
        return None
    return rows
