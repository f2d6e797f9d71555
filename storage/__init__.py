"""twoway's ledger: SQLAlchemy models, engine and session factories, queries and migrations.

Imports flow into storage, never out of it: nothing here imports ``bot`` or ``handlers``.
"""
