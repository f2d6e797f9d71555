"""A workspace that removed twoway: its ledger is kept ``KEEP_AFTER_LEAVING`` (30 days) in case it
installs twoway again, then purged.

A workspace leaves at the first of ``app_uninstalled`` or ``tokens_revoked`` naming the bot, in both
modes: Slack sends them to every app it removes, and either way the bot token no longer works. It
comes back when it installs twoway again: in distribution mode when its OAuth install completes; with
one configured bot token, when twoway starts with a token of that workspace (the old one was revoked,
so installing again means a new ``SLACK_BOT_TOKEN`` and a restart). Coming back keeps everything.

Every replica's sweep purges the workspaces that left over 30 days ago, each in one transaction that
takes its departure first (``storage.departed_workspaces.take_departure``) and deletes its rows in every table
of the ledger (``storage.workspace_rows``). Its installation went when it left (``bot.installs``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.departed_workspaces import (
    cancel_departure,
    departed_before,
    departed_teams,
    departure,
    record_departure,
    take_departure,
)
from storage.workspace_rows import count_rows, delete_team_rows

logger = logging.getLogger(__name__)

# How long a workspace that removed twoway keeps its ledger, in case it installs twoway again.
KEEP_AFTER_LEAVING = timedelta(days=30)


def left(sessions: sessionmaker[Session], team_id: str, now: datetime, reason: str) -> datetime:
    """Record that the workspace removed twoway; return when its ledger will be purged.

    A second notice of the same departure (Slack sends both events on an uninstall) keeps the first date.
    """
    with sessions.begin() as s:
        record_departure(s, team_id, now=now, reason=reason)
        found = departure(s, team_id)
        since = found.left_at if found is not None else now
    return since + KEEP_AFTER_LEAVING


def came_back(sessions: sessionmaker[Session], team_id: str) -> bool:
    """The workspace installed twoway again: cancel its purge; return whether one was due."""
    with sessions.begin() as s:
        cancelled = cancel_departure(s, team_id)
    if cancelled:
        logger.info("workspace %s installed twoway again: its ledger is kept", team_id)
    return cancelled


def away(sessions: sessionmaker[Session]) -> set[str]:
    """The workspaces that removed twoway and whose ledgers are not purged yet."""
    with sessions.begin() as s:
        return set(departed_teams(s))


def purge_departed(sessions: sessionmaker[Session], now: datetime) -> list[str]:
    """Purge the ledger of every workspace that left ``KEEP_AFTER_LEAVING`` ago or more; return them.

    One workspace per transaction, so that one that fails costs the others nothing.
    """
    before = now - KEEP_AFTER_LEAVING
    with sessions.begin() as s:
        due = departed_before(s, before)
    purged: list[str] = []
    for team_id in due:
        try:
            with sessions.begin() as s:
                if not take_departure(s, team_id, before=before):
                    continue  # it came back, or another replica purged it
                counts = count_rows(s, team_id)
                delete_team_rows(s, team_id)
        except Exception:
            logger.exception("purging the ledger of workspace %s failed; the next sweep tries again", team_id)
            continue
        held = ", ".join(f"{table} {n:,}" for table, n in counts.items() if n) or "no rows"
        logger.info("workspace %s left over 30 days ago: its ledger is purged (%s)", team_id, held)
        purged.append(team_id)
    return purged
