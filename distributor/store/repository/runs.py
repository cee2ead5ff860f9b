"""Runs: when each began and ended, and its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update

from distributor.store import schema as s
from distributor.store.repository.base import StoreBase


class RunQueries(StoreBase):
    def start_run(self, now: datetime, *, dry_run: bool) -> int:
        with self._tx() as conn:
            return int(
                conn.execute(
                    insert(s.runs).values(started_at=now, dry_run=dry_run)
                ).inserted_primary_key[0]
            )

    def finish_run(self, run_id: int, report: dict[str, Any], now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                update(s.runs).where(s.runs.c.id == run_id).values(finished_at=now, report=report)
            )
