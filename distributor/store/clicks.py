"""Click counts (issue 17): hourly aggregates, today's salted digests, per-reader clicks.

Recording is one transaction per batch of clicks: the batch's new digests are inserted
(``ON CONFLICT DO NOTHING RETURNING``: those returned were not seen today), then one
upsert per (variant, story place, kind, network, hour) adds the batch's counts.  A
million clicks in a day leave at most one row per distinct key and hour.  No row per
click ever exists.  SQLite (3.35+) and PostgreSQL share the same statements.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from distributor.store import schema as s
from distributor.store.repository import Store


@dataclass(frozen=True, slots=True)
class ClickEvent:
    """One request to count (built by the service; the digests are already salted)."""

    edition_id: int
    story_index: int
    kind: str
    network: str
    hour: datetime
    machine: bool = False
    #: salted digests that make it unique: of the link, and of the variant ("" = none)
    link_digest: str = ""
    variant_digest: str = ""
    subscriber_id: int | None = None  # per_reader lists only
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CountRow:
    edition_id: int
    story_index: int
    kind: str
    network: str
    hour: datetime
    clicks: int
    uniques: int
    machine: int


class ClickStore:
    """The click tables of one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine
        self._dialect = store.engine.dialect.name

    def _insert(self, table: Any) -> Any:
        mod: Any = postgresql if self._dialect == "postgresql" else sqlite
        return mod.insert(table)

    # ------------------------------------------------------------------ salts
    def salt_for(self, day: str) -> str:
        """Today's salt (made on first use); salts and digests of other days are deleted."""
        with self.engine.begin() as conn:
            found = conn.execute(
                select(s.click_salts.c.salt).where(s.click_salts.c.day == day)
            ).scalar_one_or_none()
            if found is not None:
                return str(found)
            conn.execute(delete(s.click_salts).where(s.click_salts.c.day != day))
            conn.execute(delete(s.click_seen).where(s.click_seen.c.day != day))
            conn.execute(
                self._insert(s.click_salts)
                .values(day=day, salt=secrets.token_hex(32))
                .on_conflict_do_nothing()
            )
            return str(
                conn.execute(
                    select(s.click_salts.c.salt).where(s.click_salts.c.day == day)
                ).scalar_one()
            )

    # ---------------------------------------------------------------- record
    def record(self, events: Sequence[ClickEvent], day: str) -> int:
        """Count a batch of clicks in one transaction; returns how many were unique."""
        if not events:
            return 0
        with self.engine.begin() as conn:
            fresh = self._fresh(conn, day, events)
            totals: dict[tuple[int, int, str, str, datetime], list[int]] = defaultdict(
                lambda: [0, 0, 0]
            )
            for ev in events:
                key = (ev.edition_id, ev.story_index, ev.kind, ev.network, ev.hour)
                row = totals[key]
                if ev.machine:
                    row[2] += 1
                    continue
                row[0] += 1
                if ev.link_digest and ev.link_digest in fresh:
                    row[1] += 1
                    fresh.discard(ev.link_digest)
                if ev.variant_digest and ev.variant_digest in fresh:
                    fresh.discard(ev.variant_digest)
                    reader = totals[(ev.edition_id, -1, "reader", "", ev.hour)]
                    reader[0] += 1
                    reader[1] += 1
            self._add(conn, totals)
            self._readers(conn, [e for e in events if e.subscriber_id is not None])
        return sum(v[1] for k, v in totals.items() if k[2] != "reader")

    def move_to_machine(self, events: Sequence[ClickEvent]) -> None:
        """Clicks counted, then found to be a scanner's sweep: moved to the machine count."""
        totals: dict[tuple[int, int, str, str, datetime], list[int]] = defaultdict(
            lambda: [0, 0, 0]
        )
        for ev in events:
            row = totals[(ev.edition_id, ev.story_index, ev.kind, ev.network, ev.hour)]
            row[0] -= 1
            row[2] += 1
        with self.engine.begin() as conn:
            self._add(conn, totals)

    def _fresh(self, conn: Connection, day: str, events: Sequence[ClickEvent]) -> set[str]:
        digests = sorted(
            {d for e in events if not e.machine for d in (e.link_digest, e.variant_digest) if d}
        )
        if not digests:
            return set()
        # one statement, many parameter sets: SQLAlchemy's "insertmanyvalues" sends them
        # in batches and compiles the statement once (a ``.values([...])`` of the whole
        # batch was compiled anew for every batch: 90% of the writer's time)
        stmt = self._insert(s.click_seen).on_conflict_do_nothing().returning(s.click_seen.c.digest)
        result = conn.execute(stmt, [{"day": day, "digest": d} for d in digests])
        return {str(d) for d in result.scalars()}

    def _add(
        self, conn: Connection, totals: dict[tuple[int, int, str, str, datetime], list[int]]
    ) -> None:
        if not totals:
            return
        t = s.click_counts
        stmt = self._insert(t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.edition_id, t.c.story_index, t.c.kind, t.c.network, t.c.hour],
            set_={
                "clicks": t.c.clicks + stmt.excluded.clicks,
                "uniques": t.c.uniques + stmt.excluded.uniques,
                "machine": t.c.machine + stmt.excluded.machine,
            },
        )
        conn.execute(
            stmt,
            [
                {
                    "edition_id": k[0],
                    "story_index": k[1],
                    "kind": k[2],
                    "network": k[3],
                    "hour": k[4],
                    "clicks": v[0],
                    "uniques": v[1],
                    "machine": v[2],
                }
                for k, v in sorted(totals.items(), key=lambda kv: kv[0])
            ],
        )

    def _readers(self, conn: Connection, events: Sequence[ClickEvent]) -> None:
        rows = [e for e in events if not e.machine and e.at is not None]
        if not rows:
            return
        t = s.reader_clicks
        for ev in rows:
            stmt = self._insert(t).values(
                edition_id=ev.edition_id,
                subscriber_id=ev.subscriber_id,
                story_index=ev.story_index,
                kind=ev.kind,
                network=ev.network,
                clicks=1,
                first_at=ev.at,
                last_at=ev.at,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[
                        t.c.edition_id,
                        t.c.subscriber_id,
                        t.c.story_index,
                        t.c.kind,
                        t.c.network,
                    ],
                    set_={"clicks": t.c.clicks + 1, "last_at": stmt.excluded.last_at},
                )
            )

    # ----------------------------------------------------------------- read
    def counts(self, edition_ids: Iterable[int]) -> list[CountRow]:
        """Every hourly row of these editions, in hour order."""
        ids = sorted(set(edition_ids))
        if not ids:
            return []
        t = s.click_counts
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.edition_id.in_(ids)).order_by(t.c.hour, t.c.edition_id)
            )
            return [
                CountRow(
                    r.edition_id,
                    r.story_index,
                    r.kind,
                    r.network,
                    r.hour,
                    int(r.clicks),
                    int(r.uniques),
                    int(r.machine),
                )
                for r in rows
            ]

    def row_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.click_counts)).scalar_one())

    def sent_counts(self, edition_ids: Iterable[int]) -> dict[int, int]:
        """Delivered (``sent``) messages per edition variant."""
        ids = sorted(set(edition_ids))
        if not ids:
            return {}
        d = s.deliveries
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.edition_id, func.count())
                .where(d.c.edition_id.in_(ids), d.c.state == "sent")
                .group_by(d.c.edition_id)
            )
            return {int(e): int(n) for e, n in rows}


@dataclass(frozen=True, slots=True)
class VariantRow:
    edition_id: int
    list_name: str
    key: str
    language: str
    segment: str
    created_at: datetime


def variants(store: Store, list_name: str | None, key: str | None, limit: int) -> list[VariantRow]:
    """The ledger's edition variants of the newest ``limit`` editions (list, key)."""
    e = s.editions
    q = select(e.c.list_name, e.c.key, func.max(e.c.created_at).label("at")).group_by(
        e.c.list_name, e.c.key
    )
    if list_name:
        q = q.where(e.c.list_name == list_name)
    if key:
        q = q.where(e.c.key == key)
    q = q.order_by(func.max(e.c.created_at).desc(), e.c.key.desc()).limit(limit)
    with store.engine.connect() as conn:
        wanted = [(r.list_name, r.key) for r in conn.execute(q)]
        if not wanted:
            return []
        rows = conn.execute(
            select(e).where(
                e.c.list_name.in_({w[0] for w in wanted}), e.c.key.in_({w[1] for w in wanted})
            )
        ).all()
    order = {w: i for i, w in enumerate(wanted)}
    out = [
        VariantRow(r.id, r.list_name, r.key, r.language, r.segment or "", r.created_at)
        for r in rows
        if (r.list_name, r.key) in order
    ]
    out.sort(key=lambda v: (order[(v.list_name, v.key)], v.language, v.segment))
    return out
