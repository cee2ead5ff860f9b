"""Alembic migrations of the store (driven by :mod:`distributor.store.migrate`)."""
