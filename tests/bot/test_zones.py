"""Zones come from the tzdata package, never from the host, so that every replica agrees on a slot."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_config
from bot.grammar import BadInput, ScheduleRequest, parse_command
from bot.zones import UnknownZone, is_zone, zone, zone_names

# Names a host's /usr/share/zoneinfo may answer to but no IANA zone is: the host's own setting, the
# POSIX rules template, the "unknown zone" placeholder, and the leap-second ("right/") and "posix/"
# copies some distributions install (tzcode's Makefile, REDO=posix_right).
HOST_NAMES = ["localtime", "posixrules", "Factory", "right/Europe/Paris", "posix/Europe/Paris", "right/UTC"]


@pytest.mark.parametrize("name", HOST_NAMES)
def test_zone_names_that_depend_on_the_host_are_refused(name: str) -> None:
    assert not is_zone(name)
    with pytest.raises(UnknownZone):
        zone(name)


@pytest.mark.parametrize("name", HOST_NAMES)
def test_schedule_refuses_a_host_zone_with_a_clear_message(name: str) -> None:
    parsed = parse_command(f"schedule monday 09:00 {name}")
    assert isinstance(parsed, BadInput)
    assert f"I don't know the time zone `{name}`" in parsed.reason


@pytest.mark.parametrize("name", HOST_NAMES)
def test_config_refuses_a_host_zone_naming_the_variable(name: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "TWOWAY_TIMEZONE": name}
    with pytest.raises(ConfigError, match=f"TWOWAY_TIMEZONE '{name}' is not an IANA time zone"):
        load_config(env)


def test_every_listed_zone_loads_and_links_still_work() -> None:
    assert {"UTC", "Europe/Paris", "America/New_York", "US/Eastern", "Asia/Kolkata"} <= zone_names()
    parsed = parse_command("schedule friday 16:00 America/Sao_Paulo")
    assert parsed == ScheduleRequest(weekday=4, minute=16 * 60, zone="America/Sao_Paulo")
    for name in sorted(zone_names()):
        assert str(zone(name)) == name


def test_zones_come_from_tzdata_not_the_hosts_files(tmp_path: Path) -> None:
    """A host whose Europe/Paris file says something else (an old or altered tzdata) changes nothing."""
    host = tmp_path / "zoneinfo"
    (host / "Europe").mkdir(parents=True)
    tokyo = resources.files("tzdata.zoneinfo").joinpath("Asia", "Tokyo").read_bytes()
    (host / "Europe" / "Paris").write_bytes(tokyo)
    (host / "localtime").write_bytes(tokyo)
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    zoneinfo.reset_tzpath(to=[str(host)])
    zone.cache_clear()
    try:
        # What ZoneInfo itself gives on such a host, and what twoway gives.
        assert summer.astimezone(ZoneInfo.no_cache("Europe/Paris")).utcoffset() == timedelta(hours=9)
        assert ZoneInfo.no_cache("localtime") is not None
        assert summer.astimezone(zone("Europe/Paris")).utcoffset() == timedelta(hours=2)
        refused = parse_command("schedule monday 09:00 localtime")
        assert isinstance(refused, BadInput)
        assert "I don't know the time zone `localtime`" in refused.reason
    finally:
        zoneinfo.reset_tzpath()
        zone.cache_clear()
