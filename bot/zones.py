"""IANA time zones as the `tzdata` package ships them, whatever the host has in /usr/share/zoneinfo.

`ZoneInfo(name)` reads the host's zone files first and falls back to `tzdata`; the host's files
differ from one machine to the next (another tzdata release, `localtime`, `posixrules`, `right/…`
zones with leap seconds), so two replicas could place one channel's digest at different instants.
Every zone twoway uses comes from here: a name in the `zones` list `tzdata` ships, read from its own
files (docs.python.org/3/library/zoneinfo.html, "Data sources"; tzdata.readthedocs.io).
"""

from __future__ import annotations

import functools
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
