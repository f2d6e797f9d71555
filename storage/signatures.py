"""Signatures of accepted HTTP requests, remembered so that a replay of one is refused.

Unlike the ledger's queries these are keyed by signature, not by workspace: a signature is unique
across all of them, and the purge sweeps every workspace's old rows at once. None commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete
from sqlalchemy.orm import Session

from storage.db import insert_many_ignoring_conflicts
from storage.models import SeenRequest


def remember_requests(conn: Connection, seen: Iterable[tuple[str, str]], now: datetime) -> set[str]:
    """Record the signatures of many requests, each ``(team_id, signature)``, in one statement; return
    those that are new. A signature missing from the answer was seen before, or earlier in ``seen``.

    Commit before handling any of the requests, so that a replay arriving at another replica meanwhile
    collides with its row.
    """
    rows = [{"team_id": team_id, "signature": signature, "seen_at": now} for team_id, signature in seen]
    return {
        signature
        for (signature,) in insert_many_ignoring_conflicts(conn, SeenRequest, rows, returning=("signature",))
    }


def forget_requests_before(s: Session, cutoff: datetime) -> int:
    """Delete every workspace's signatures seen before ``cutoff``; return how many rows went."""
    result = s.execute(delete(SeenRequest).where(SeenRequest.seen_at < cutoff))
    # A DELETE's result is a cursor result, which counts rows; the generic type can't say so.
    return int(getattr(result, "rowcount", 0) or 0)
