"""IANA time zones as the `tzdata` package ships them, whatever the host has in /usr/share/zoneinfo.

`ZoneInfo(name)` reads the host's zone files first and falls back to `tzdata`; the host's files
differ from one machine to the next (another tzdata release, `localtime`, `posixrules`, `right/…`
zones with leap seconds), so two replicas could place one channel's digest at different instants.
Every zone twoway uses comes from here: a name in the `zones` list `tzdata` ships, read from its own
files (docs.python.org/3/library/zoneinfo.html, "Data sources"; tzdata.readthedocs.io).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

# In tzdata's list, but a placeholder that "indicates that the time zone is unknown" (IANA's
# tzdata `factory` file): its abbreviation is "-00" and no place keeps its time.
_PLACEHOLDERS = frozenset({"Factory"})


class UnknownZone(ValueError):
    """A zone name that is not one of the IANA zones twoway knows."""


@functools.cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name `tzdata` ships (canonical zones and their links), placeholders left out."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(listed) - _PLACEHOLDERS


def is_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone twoway accepts."""
    return name in zone_names()


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The zone ``name`` from `tzdata`'s own files, the same on every host; UnknownZone if it isn't one."""
    if not is_zone(name):
        raise UnknownZone(f"{name!r} is not an IANA time zone")
    # zone_names() came from tzdata's list, so the name is a path of its package and nothing else.
    with resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as data:
        return ZoneInfo.from_file(data, key=name)


# --- Reading a zone as people type it -------------------------------------------------------------


@dataclass(frozen=True)
class ZoneOption:
    """One zone a typed name may mean, and how to tell it from the others."""

    zone: str
    label: str


@dataclass(frozen=True)
class ZoneFound:
    """The one zone the text names."""

    zone: str


@dataclass(frozen=True)
class ZoneChoices:
    """Several zones the text may mean; twoway asks which rather than guessing."""

    why: str
    options: tuple[ZoneOption, ...]


@dataclass(frozen=True)
class ZoneUnknown:
    """No zone: why, in one line."""

    reason: str


ZoneReading = ZoneFound | ZoneChoices | ZoneUnknown

# Abbreviations people write for a zone that name an offset in several places: twoway asks which.
# (Some, such as EST and MST, are also legacy IANA names for a fixed offset; the question offers that.)
ABBREVIATIONS: dict[str, tuple[ZoneOption, ...]] = {
    "est": (
        ZoneOption("America/New_York", "US Eastern"),
        ZoneOption("America/Toronto", "Canada Eastern"),
        ZoneOption("Etc/GMT+5", "UTC-05:00 all year"),
    ),
    "edt": (ZoneOption("America/New_York", "US Eastern"), ZoneOption("America/Toronto", "Canada Eastern")),
    "cst": (
        ZoneOption("America/Chicago", "US Central"),
        ZoneOption("Asia/Shanghai", "China"),
        ZoneOption("America/Havana", "Cuba"),
    ),
    "cdt": (ZoneOption("America/Chicago", "US Central"), ZoneOption("America/Havana", "Cuba")),
    "mst": (
        ZoneOption("America/Denver", "US Mountain"),
        ZoneOption("America/Phoenix", "Arizona, no daylight saving"),
    ),
    "mdt": (ZoneOption("America/Denver", "US Mountain"), ZoneOption("America/Edmonton", "Canada Mountain")),
    "pst": (ZoneOption("America/Los_Angeles", "US Pacific"), ZoneOption("Asia/Manila", "Philippines")),
    "pdt": (
        ZoneOption("America/Los_Angeles", "US Pacific"),
        ZoneOption("America/Vancouver", "Canada Pacific"),
    ),
    "ist": (
        ZoneOption("Asia/Kolkata", "India"),
        ZoneOption("Europe/Dublin", "Ireland"),
        ZoneOption("Asia/Jerusalem", "Israel"),
    ),
    "bst": (ZoneOption("Europe/London", "British Summer Time"), ZoneOption("Asia/Dhaka", "Bangladesh")),
    "ast": (ZoneOption("America/Halifax", "Atlantic"), ZoneOption("Asia/Riyadh", "Arabia")),
    "aest": (
        ZoneOption("Australia/Sydney", "New South Wales, Victoria"),
        ZoneOption("Australia/Brisbane", "Queensland"),
    ),
    "cest": (ZoneOption("Europe/Paris", "France"), ZoneOption("Europe/Berlin", "Germany")),
}

_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+\-\u2212])\s*([0-9]{1,2})(?::?([0-9]{2}))?|(?:utc|gmt|z)")
# Two days half a year apart: a zone at the same offset on both keeps it all year.
_WINTER, _SUMMER = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
_OPTIONS_LIMIT = 5


def _key(text: str) -> str:
    """A zone name or place as compared: accents, case, spaces and hyphens don't count."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_-]+", "_", plain.strip().casefold())


@functools.cache
def _links() -> dict[str, str]:
    """Each IANA link's canonical zone, from the `L` lines of tzdata's own `tzdata.zi`."""
    text = resources.files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text(encoding="utf-8")
    return {
        parts[2]: parts[1] for parts in (line.split() for line in text.splitlines()) if parts[:1] == ["L"]
    }


def canonical(name: str) -> str:
    """The canonical zone of an IANA name that is a link (`Asia/Calcutta` → `Asia/Kolkata`)."""
    return _links().get(name, name)


@functools.cache
def _by_key() -> dict[str, str]:
    return {_key(name): name for name in zone_names()}


@functools.cache
def _by_place() -> dict[str, tuple[str, ...]]:
    """The canonical zones each place name (the last part of a zone's name) may mean."""
    places: dict[str, set[str]] = {}
    for name in zone_names():
        if "/" in name and not name.startswith("Etc/"):
            places.setdefault(_key(name.rsplit("/", 1)[1]), set()).add(canonical(name))
    return {place: tuple(sorted(found)) for place, found in places.items()}


def offset_zone(minutes: int) -> str | None:
    """The IANA zone keeping UTC+``minutes`` all year (`Etc/GMT-2` for UTC+2), or None: the `Etc`
    zones cover whole hours from UTC-12 to UTC+14, with their sign reversed (POSIX's)."""
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    if rest or not (-12 * 60 <= minutes <= 14 * 60):
        return None
    return f"Etc/GMT{'-' if minutes > 0 else '+'}{hours}"


def is_fixed_offset(name: str) -> bool:
    """Whether ``name`` is one of the `Etc/GMT±N` zones, which never follow daylight saving."""
    return name.startswith("Etc/GMT") and name not in ("Etc/GMT", "Etc/GMT+0", "Etc/GMT-0")


def offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


@functools.cache
def _all_year_at(minutes: int) -> tuple[str, ...]:
    """The canonical zones, places rather than `Etc`, at UTC+``minutes`` winter and summer alike."""
    offset = timedelta(minutes=minutes)
    return tuple(
        sorted(
            name
            for name in zone_names()
            if name == canonical(name)
            and "/" in name
            and not name.startswith("Etc/")
            and zone(name).utcoffset(_WINTER) == offset == zone(name).utcoffset(_SUMMER)
        )
    )


def read_zone(text: str) -> ZoneReading:
    """The zone ``text`` names: an IANA name in any case, a place that is the last part of one
    (`Paris`, `new york`, `São Paulo`), a UTC offset (`UTC+2`, `+05:30`, `GMT-3`), or an abbreviation
    (`EST`), which always gets a question, as does a place or an offset more than one zone may mean."""
    key = _key(text)
    if not key:
        return ZoneUnknown("The time zone is missing.")
    if key in ABBREVIATIONS:
        return ZoneChoices(f"`{text.upper()}` means more than one time zone.", ABBREVIATIONS[key])
    if key in _by_key():
        return ZoneFound(_by_key()[key])
    offset = _OFFSET.fullmatch(re.sub(r"\s+", "", text.casefold()))
    if offset:
        return _read_offset(text, offset)
    places = _by_place().get(key, ())
    if len(places) == 1:
        return ZoneFound(places[0])
    if places:
        return ZoneChoices(
            f"`{text}` is the name of more than one time zone.", tuple(ZoneOption(p, p) for p in places)
        )
    close = difflib.get_close_matches(key, [*_by_key(), *_by_place()], n=1, cutoff=0.8)
    hint = ""
    if close:
        hint = f" Did you mean `{_by_key().get(close[0]) or _by_place()[close[0]][0]}`?"
    return ZoneUnknown(
        f"I don't know the time zone `{text}`.{hint} Write a city such as `Paris` or `New York`, an IANA "
        "name such as `Europe/Paris`, or an offset such as `UTC+2`."
    )


def _read_offset(text: str, offset: re.Match[str]) -> ZoneReading:
    if offset[1] is None:
        return ZoneFound("UTC")
    hours, minutes = int(offset[2]), int(offset[3] or 0)
    total = (hours * 60 + minutes) * (1 if offset[1] == "+" else -1)
    if minutes > 59 or not (-12 * 60 <= total <= 14 * 60):
        return ZoneUnknown(f"`{text}` isn't a UTC offset; offsets go from UTC-12 to UTC+14.")
    fixed = offset_zone(total)
    if fixed is not None:
        return ZoneFound(fixed)
    places = _all_year_at(total)
    if not places:
        return ZoneUnknown(
            f"No time zone keeps {offset_label(total)}; name the place instead, e.g. `Asia/Kolkata`."
        )
    return ZoneChoices(
        f"No fixed-offset zone is {offset_label(total)}; these places keep it all year.",
        tuple(ZoneOption(p, p) for p in places[:_OPTIONS_LIMIT]),
    )
