"""Alembic environment for twoway, driven by ``storage.migrate`` rather than an ini file.

The caller passes an open connection in ``config.attributes["connection"]``.
To write a new revision, start from the models on a database at head::

    from alembic import command
    from storage.db import make_engine
    from storage.migrate import alembic_config, upgrade

    engine = make_engine("sqlite:////tmp/authoring.db")
    upgrade(engine)
    with engine.begin() as connection:
        command.revision(alembic_config(connection), "what changed", autogenerate=True,
                         rev_id="0002")

then review the file: autogenerate misses CHECK constraints and server
defaults, and renders ``UTCDateTime`` by its import path rather than as
``sa.DateTime(timezone=True)``.
"""

from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError("twoway migrations run through storage.migrate with an open connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=True,
    compare_type=True,
    on_version_apply=config.attributes.get("on_version_apply", ()),
)
with context.begin_transaction():
    context.run_migrations()
