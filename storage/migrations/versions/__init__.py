"""A package only so that setuptools ships the revisions with twoway; Alembic skips this file."""
