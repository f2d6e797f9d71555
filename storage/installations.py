"""A workspace's rows in the installation tables of slack_sdk's SQLAlchemy stores.

Those stores keep their own ``MetaData`` and their own schema across slack_sdk versions, and the
app creates their tables when it starts in distribution mode, not through our migrations: the
tables exist only where distribution mode has run. ``twoway purge`` counts and deletes a
workspace's rows in them alongside its ledger (``storage.workspace_rows``). Each function takes a
session and a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import MetaData, Table, delete, func, inspect, select
from sqlalchemy.orm import Session


def _installation_tables(s: Session) -> list[Table]:
    """The stores' tables that exist in this database: none where distribution mode never ran."""
    metadata = MetaData()
    tables = [
        SQLAlchemyInstallationStore.build_installations_table(
            metadata, SQLAlchemyInstallationStore.default_installations_table_name
        ),
        SQLAlchemyInstallationStore.build_bots_table(
            metadata, SQLAlchemyInstallationStore.default_bots_table_name
        ),
    ]
    existing = inspect(s.connection())
    return [table for table in tables if existing.has_table(table.name)]


def count_installation_rows(s: Session, team_id: str) -> dict[str, int]:
    """Return the number of the team's rows in the installation tables, of any app, keyed by table name."""
    return {
        table.name: s.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id)) or 0
        for table in _installation_tables(s)
    }


def delete_installation_rows(s: Session, team_id: str) -> None:
    """Delete the team's rows in the installation tables, of any app. OAuth states belong to no team."""
    for table in _installation_tables(s):
        s.execute(delete(table).where(table.c.team_id == team_id))
