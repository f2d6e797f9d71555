"""When a channel's digest is due, and which week it covers.

Slots and periods are local wall times in the channel's IANA zone, resolved by zoneinfo with
`fold=0`: a repeated time (01:30 on a fall-back night) means its first occurrence, and a time
the clocks skipped (02:30 on a spring-forward night) resolves forward by the gap, to 03:30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.zones import zone as iana_zone

WEEK = timedelta(weeks=1)
# A digest more than a day late is noise: neither catch-up nor retries post it.
CATCH_UP_WINDOW = timedelta(hours=24)


class Schedule(Protocol):
    """A channel's digest schedule, as its row in the ledger holds it."""

    @property
    def digest_weekday(self) -> int: ...

    @property
    def digest_minute(self) -> int: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True)
class Slot:
    """A digest schedule given by hand: ``digest_weekday`` 0 is Monday, ``digest_minute`` counts from
    local midnight, ``timezone`` is an IANA name."""

    digest_weekday: int
    digest_minute: int
    timezone: str


@dataclass(frozen=True)
class Period:
    start: datetime  # aware UTC
    end: datetime  # aware UTC: the slot

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _check(now: datetime, weekday: int, minute: int) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6, not {weekday}")
    if not 0 <= minute < 24 * 60:
        raise ValueError(f"minute must be 0 to 1439, not {minute}")


def _slot_on(day: date, minute: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


def _last_slot_day(now: datetime, weekday: int, minute: int, tz: ZoneInfo) -> date:
    # Works on dates rather than slot instants: on a day the zone skipped entirely (Samoa,
    # 30 December 2011) the slot resolves into the next date, which would shift later weeks.
    today = now.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    return day if _slot_on(day, minute, tz) <= now else day - WEEK


def slot_at_or_before(now: datetime, *, weekday: int, minute: int, zone: str) -> datetime:
    """The most recent digest slot <= now, aware UTC.

    `weekday` 0 is Monday, `minute` counts from local midnight, `zone` is an IANA name.
    """
    _check(now, weekday, minute)
    tz = iana_zone(zone)
    return _slot_on(_last_slot_day(now, weekday, minute, tz), minute, tz)


def next_slot_after(now: datetime, *, weekday: int, minute: int, zone: str) -> datetime:
    """The first digest slot > now, aware UTC: the one after `slot_at_or_before(now)`."""
    _check(now, weekday, minute)
    tz = iana_zone(zone)
    return _slot_on(_last_slot_day(now, weekday, minute, tz) + WEEK, minute, tz)


def period_ending(slot: datetime, zone: str) -> Period:
    """The week before the slot: from the same local wall time 7 days earlier.

    A week with a DST change is 167 or 169 hours long. The wall time is the slot's own. A slot
    configured at a skipped time (02:30 on a spring-forward day) is at 03:30 that day, so its
    period starts at 03:30 a week earlier and the hour after the previous slot falls in neither
    week: the instant alone can't tell a 02:30 schedule from a 03:30 one, and this is right
    for 03:30.
    """
    tz = iana_zone(zone)
    wall = slot.astimezone(tz).replace(tzinfo=None, fold=0)
    start = (wall - WEEK).replace(tzinfo=tz).astimezone(UTC)
    return Period(start=start, end=slot.astimezone(UTC))


def period_for(schedule: Schedule, now: datetime) -> Period:
    """The week that ended at the schedule's most recent slot: what its latest digest covers."""
    slot = slot_at_or_before(
        now, weekday=schedule.digest_weekday, minute=schedule.digest_minute, zone=schedule.timezone
    )
    return period_ending(slot, schedule.timezone)


def next_period_for(schedule: Schedule, now: datetime) -> Period:
    """The week that ends at the schedule's next slot: what its next digest will cover."""
    slot = next_slot_after(
        now, weekday=schedule.digest_weekday, minute=schedule.digest_minute, zone=schedule.timezone
    )
    return period_ending(slot, schedule.timezone)


def periods_ending_with(period: Period, zone: str, count: int) -> list[Period]:
    """``count`` consecutive periods, oldest first, the last being ``period``."""
    periods = [period]
    while len(periods) < count:
        periods.insert(0, period_ending(periods[0].start, zone))
    return periods
