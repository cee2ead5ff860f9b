"""Alembic revisions, oldest first (``0001_baseline`` is the schema of distributor 0.1)."""
