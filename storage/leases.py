"""Claims: how one replica of many takes a piece of work that must be done once, and lets it go.

Every kind of claim twoway keeps (a Slack event to handle, a digest to post, a nudge to send, a
comment's thread notice to post) changes hands the same way, in one statement whose WHERE says who
may make the change, so that of replicas racing for a claim exactly one sees its row come back:

- ``Lease.claim`` inserts the claim row, and a row already there wins;
- ``Lease.take_over`` takes a claim whose holder failed or whose lease ran out (its ``claimed_at``
  is older than ``stale_before``) while it has attempts left, with one conditional UPDATE … RETURNING;
- ``Lease.settle`` records the outcome (done, posted, failed) or dates the claim anew, only if
  ``claimed_at`` is still the holder's own: a holder that hung while another took over changes nothing.

A comment's notice is claimed by a marker in one of the comment's columns instead, with no lease
(``Marker``). Nothing here commits: the caller commits a claim before doing the work, so that other
replicas see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, and_, inspect, or_, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts, insert_many_ignoring_conflicts
from storage.models import Base

M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Lease(Generic[M]):
    """The claims kept in one table, whose rows carry ``state``, ``claimed_at`` and ``attempts``.

    ``key`` names the columns that pick out one claim, ``team_id`` first; the methods take their
    values in that order. ``held`` is the state of a claim being worked on. A ``failed`` claim is
    taken over at once unless ``failed_waits_lease``, when it waits out the lease like a held one.
    A table with a ``claimed_by`` column records which replica holds each claim; one without tells
    claims apart by ``claimed_at`` alone.
    """

    model: type[M]
    key: tuple[str, ...]
    held: str
    failed: str = "failed"
    failed_waits_lease: bool = False

    def _column(self, name: str) -> Any:
        """Return the model's attribute ``name``, to build a condition on it."""
        return getattr(self.model, name)

    def claim(
        self, s: Session, row: Mapping[str, object], *, now: datetime, replica: str | None = None
    ) -> bool:
        """Insert ``row`` as a claim held since ``now``; return False when the row was there already."""
        values = {**row, "state": self.held, "claimed_at": now, **self._holder(replica), "attempts": 1}
        return insert_ignoring_conflicts(s, self.model, values)

    def claim_many(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, object]],
        *,
        now: datetime,
        replica: str | None = None,
    ) -> set[tuple[Any, ...]]:
        """Insert ``rows`` as claims held since ``now``, in one statement on a Core connection; return the
        keys of those inserted. A row whose claim was there already, or earlier in ``rows``, is not."""
        held = {"state": self.held, "claimed_at": now, **self._holder(replica), "attempts": 1}
        values = [{**row, **held} for row in rows]
        return insert_many_ignoring_conflicts(conn, self.model, values, returning=self.key)

    def lapsed(self, *, stale_before: datetime, max_attempts: int) -> list[ColumnElement[bool]]:
        """Return the conditions on a claim that may be taken over: failed or stale, with attempts left."""
        state, claimed_at, attempts = (
            self._column("state"),
            self._column("claimed_at"),
            self._column("attempts"),
        )
        if self.failed_waits_lease:
            return [state.in_((self.held, self.failed)), claimed_at < stale_before, attempts < max_attempts]
        return [
            attempts < max_attempts,
            or_(state == self.failed, and_(state == self.held, claimed_at < stale_before)),
        ]

    def take_over(
        self,
        s: Session,
        key: Sequence[object],
        *,
        now: datetime,
        stale_before: datetime,
        max_attempts: int,
        replica: str | None = None,
        also: Iterable[ColumnElement[bool]] = (),
    ) -> M | None:
        """Claim the row at ``key`` anew if its claim ``lapsed`` and ``also`` holds; return it, or None.

        None means the claim is settled, still fresh, out of attempts, or another replica took it first.
        """
        values = {
            "state": self.held,
            "claimed_at": now,
            **self._holder(replica),
            "attempts": self._column("attempts") + 1,
        }
        lapsed = self.lapsed(stale_before=stale_before, max_attempts=max_attempts)
        return s.scalars(
            update(self.model)
            .where(*_at(self.model, self.key, key), *lapsed, *also)
            .values(values)
            .returning(self.model)
            .execution_options(synchronize_session="fetch")
        ).one_or_none()

    def settle(
        self, s: Session, key: Sequence[object], *, claimed_at: datetime, values: Mapping[str, object]
    ) -> bool:
        """Apply ``values`` to the claim made at ``claimed_at``; return False if it was taken over since.

        Matching ``claimed_at`` is what tells this holder's claim from a later taker's.
        """
        held = [self._column("state") == self.held, self._column("claimed_at") == claimed_at]
        return _change(s, self.model, [*_at(self.model, self.key, key), *held], values)

    def renew(self, s: Session, key: Sequence[object], *, claimed_at: datetime, now: datetime) -> bool:
        """Date the claim made at ``claimed_at`` anew, at ``now``; return False if it was taken over since."""
        return self.settle(s, key, claimed_at=claimed_at, values={"claimed_at": now})

    def _holder(self, replica: str | None) -> dict[str, object]:
        return {"claimed_by": replica} if "claimed_by" in self.model.__table__.c else {}


@dataclass(frozen=True)
class Marker(Generic[M]):
    """Claims kept as ``marker`` in a column of an existing row, NULL while nobody holds one.

    There is no lease: a holder that dies leaves the marker, and nobody takes it over. Settling
    writes the outcome in place of the marker, or NULL to give the claim back.
    """

    model: type[M]
    key: tuple[str, ...]
    column: str
    marker: str

    def claim(self, s: Session, key: Sequence[object]) -> bool:
        """Put the marker in the row at ``key``; return False when the column holds anything already."""
        free = getattr(self.model, self.column).is_(None)
        return _change(s, self.model, [*_at(self.model, self.key, key), free], {self.column: self.marker})

    def settle(self, s: Session, key: Sequence[object], outcome: str | None) -> bool:
        """Put ``outcome`` in place of the marker (None gives the claim back); False when there was none."""
        held = getattr(self.model, self.column) == self.marker
        return _change(s, self.model, [*_at(self.model, self.key, key), held], {self.column: outcome})


def _at(model: type[Base], names: Sequence[str], values: Sequence[object]) -> list[ColumnElement[bool]]:
    """Return the conditions that pick out the row whose ``names`` columns hold ``values``."""
    return [getattr(model, name) == value for name, value in zip(names, values, strict=True)]


def _change(
    s: Session, model: type[Base], where: Sequence[ColumnElement[bool]], values: Mapping[str, object]
) -> bool:
    """Apply ``values`` to the row that meets ``where``, in one UPDATE; return whether a row did."""
    # RETURNING, unlike rowcount, reports the match the same way on every driver.
    changed = s.execute(
        update(model)
        .where(*where)
        .values(values)
        .returning(*inspect(model).primary_key)
        .execution_options(synchronize_session="fetch")
    ).first()
    return changed is not None
