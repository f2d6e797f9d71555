"""PRIVACY.md stays true to the code: it has a row for every table twoway writes, in the models and in
slack_sdk's installation stores, and states each retention period as the constant in the code is."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.departures import KEEP_AFTER_LEAVING
from bot.inbox import KEEP_UNFINISHED, REMEMBER
from bot.installs import STATE_EXPIRATION_SECONDS
from bot.ledger import KEEP_MESSAGES
from bot.live import KEEP_POSTED
from storage.models import Base
from tests.support.paths import ROOT

INSTALLATION_TABLES = {
    SQLAlchemyInstallationStore.default_installations_table_name,
    SQLAlchemyInstallationStore.default_bots_table_name,
    SQLAlchemyOAuthStateStore.default_table_name,
}


def rows() -> dict[str, str]:
    """The rows of PRIVACY.md's table of tables, keyed by each table the first cell names."""
    found: dict[str, str] = {}
    for line in (ROOT / "PRIVACY.md").read_text().splitlines():
        cells = line.split(" | ")
        if line.startswith("| `") and len(cells) == 3:
            for name in re.findall(r"`([a-z_]+)`", cells[0]):
                found[name] = line
    return found


def spelled(period: timedelta) -> str:
    """A period as PRIVACY.md writes it: "14 days", "10 minutes"."""
    if period.days and not period.seconds:
        return f"{period.days} days"
    assert not period.days, period
    assert period.seconds % 60 == 0, period
    return f"{period.seconds // 60} minutes"


def test_privacy_md_has_a_row_for_every_table_and_no_other() -> None:
    assert set(rows()) == set(Base.metadata.tables) | INSTALLATION_TABLES


@pytest.mark.parametrize(
    ("table", "period"),
    [
        ("kept_messages", KEEP_MESSAGES),
        ("processed_events", REMEMBER),
        ("processed_events", KEEP_UNFINISHED),
        ("departed_workspaces", KEEP_AFTER_LEAVING),
        ("posted_messages", KEEP_POSTED),
        ("slack_oauth_states", timedelta(seconds=STATE_EXPIRATION_SECONDS)),
    ],
)
def test_each_retention_period_is_the_codes(table: str, period: timedelta) -> None:
    assert spelled(period) in rows()[table]


def test_the_replay_guards_period_is_the_codes() -> None:
    # Imported here: twoway.acknowledge is above bot, and this test only reads its constant.
    from twoway.acknowledge import PURGE_AFTER

    assert spelled(PURGE_AFTER) in rows()["seen_requests"]


def test_the_purge_after_leaving_is_stated_with_its_constant() -> None:
    text = " ".join((ROOT / "PRIVACY.md").read_text().split())
    assert f"kept **{spelled(KEEP_AFTER_LEAVING)}** (`bot/departures.py` `KEEP_AFTER_LEAVING`)" in text
