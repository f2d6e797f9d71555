"""A channel's named sites and accounts: each workspace's and channel's own; added once, removed by kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.channel_sources import add_sources, naming_a_site, remove_sources, sources_of
from storage.channels import ensure_channel

Sessions = sessionmaker[Session]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PUBLIC, PRIVATE = "C0SOCIAL01", "G0PRIVATE1"


def test_sources_are_found_only_in_their_own_workspace_and_channel(sessions: Sessions) -> None:
    with sessions.begin() as s:
        for team in ("T1", "T2"):
            for channel in (PUBLIC, PRIVATE):
                ensure_channel(s, team, channel, now=NOW)
        assert add_sources(
            s, "T1", PRIVATE, "site", ["blog.acme.com", "acme.substack.com"], by="U1", now=NOW
        ) == [
            "blog.acme.com",
            "acme.substack.com",
        ]
        # Named twice is named once.
        assert add_sources(s, "T1", PRIVATE, "site", ["blog.acme.com"], by="U2", now=NOW) == []
        add_sources(s, "T1", PRIVATE, "not_account", ["x.com/rival"], by="U1", now=NOW)
    with sessions.begin() as s:
        assert sources_of(s, "T1", PRIVATE) == [
            ("not_account", "x.com/rival"),
            ("site", "blog.acme.com"),
            ("site", "acme.substack.com"),
        ]
        assert sources_of(s, "T1", PUBLIC) == []
        assert sources_of(s, "T2", PRIVATE) == []
        assert s.scalar(select(naming_a_site("T1", PRIVATE, ["www.acme.com", "blog.acme.com"]))) is True
        assert s.scalar(select(naming_a_site("T2", PRIVATE, ["blog.acme.com"]))) is False
        assert s.scalar(select(naming_a_site("T1", PUBLIC, ["blog.acme.com"]))) is False


def test_removing_takes_only_the_kinds_and_channel_named(sessions: Sessions) -> None:
    with sessions.begin() as s:
        for team in ("T1", "T2"):
            ensure_channel(s, team, PUBLIC, now=NOW)
            add_sources(s, team, PUBLIC, "account", ["x.com/acme"], by=None, now=NOW)
            add_sources(s, team, PUBLIC, "not_account", ["x.com/rival"], by=None, now=NOW)
    with sessions.begin() as s:
        assert remove_sources(s, "T1", PUBLIC, ["site"], ["x.com/acme"]) == []
        assert remove_sources(s, "T1", PUBLIC, ["account", "not_account"], ["x.com/rival", "x.com/none"]) == [
            ("not_account", "x.com/rival")
        ]
    with sessions.begin() as s:
        assert sources_of(s, "T1", PUBLIC) == [("account", "x.com/acme")]
        assert sources_of(s, "T2", PUBLIC) == [("account", "x.com/acme"), ("not_account", "x.com/rival")]
