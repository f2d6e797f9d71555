from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base

TABLES = {"channels", "posts", "snapshots", "comments", "digest_runs", "processed_events", "nudges"}


def test_models_define_the_expected_tables_each_with_a_team() -> None:
    assert set(Base.metadata.tables) == TABLES
    for table in Base.metadata.tables.values():
        assert not table.c.team_id.nullable, table.name


def test_upgrade_creates_every_table_on_an_empty_database(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == [head_revision()]
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_twice_applies_nothing_the_second_time(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == []
    assert current_revision(engine) == head_revision()


def test_head_revision_is_the_initial_one() -> None:
    assert head_revision() == "0001"


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None
    assert upgrade(engine) == [head_revision()]
