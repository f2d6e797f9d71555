"""PostgreSQL schemas for tests: each test gets an empty schema of its own on the shared test server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url


def schema_url(server_url: str, schema: str) -> str:
    """``server_url`` with ``schema`` as its search path. It travels in the URL, so every connection
    made from it (any engine, any process) lands in the schema."""
    url = make_url(server_url)
    options = f"{url.query.get('options', '')} -csearch_path={schema}".strip()
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def fresh_schema(admin: Engine, server_url: str, prefix: str = "t") -> Iterator[str]:
    """URL of a new, empty schema on the test server, dropped on the way out."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema_url(server_url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
