"""Repository of planned editions (issue 14): an edition's life cycle, its variants and
its change log.

Every change is one transaction that checks what the caller read: a state change
names the states it may start from, an edit names the version it was made on.  So
two editors saving at once, or two schedulers firing the same slot, never both win:
the second gets a :class:`~distributor.errors.ConflictError` (or ``None`` for a
claim), and nothing is lost or sent twice.  Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from distributor.errors import ConflictError, EditionError, NotFoundError
from distributor.models import EditionChange, PlannedEdition, PlannedVariant, PlanState
from distributor.store import schema as s
from distributor.store.repository import Store


@dataclass(frozen=True, slots=True)
class NewPlan:
    """What :meth:`EditionStore.create` writes."""

    list_name: str
    key: str
    kind: str
    state: PlanState
    variants: Sequence[PlannedVariant]
    send_at: datetime | None = None
    created_by: str = ""
    social: bool = True
    intro_fallback: bool = False


class EditionStore:
    """Planned editions over one :class:`~distributor.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading
    def get(self, plan_id: int) -> PlannedEdition:
        with self.store.engine.connect() as conn:
            found = _load(conn, [plan_id])
        if not found:
            raise NotFoundError(f"no edition with id {plan_id}")
        return found[0]

    def find(self, list_name: str, key: str) -> PlannedEdition | None:
        p = s.planned_editions
        with self.store.engine.connect() as conn:
            pid = conn.execute(
                select(p.c.id).where(p.c.list_name == list_name, p.c.key == key)
            ).scalar()
            return _load(conn, [pid])[0] if pid is not None else None

    def listing(
        self,
        *,
        list_name: str | None = None,
        states: Iterable[PlanState] | None = None,
        limit: int = 50,
    ) -> list[PlannedEdition]:
        """Newest first (by send time, then id)."""
        p = s.planned_editions
        q = select(p.c.id)
        if list_name is not None:
            q = q.where(p.c.list_name == list_name)
        if states is not None:
            q = q.where(p.c.state.in_([str(x) for x in states]))
        q = q.order_by(p.c.id.desc()).limit(limit)
        with self.store.engine.connect() as conn:
            return _load(conn, list(conn.execute(q).scalars()))

    def due(self, now: datetime, list_name: str | None = None) -> list[PlannedEdition]:
        """Approved or scheduled editions whose time has come, oldest first."""
        p = s.planned_editions
        q = select(p.c.id).where(
            p.c.state.in_([PlanState.APPROVED.value, PlanState.SCHEDULED.value]),
            p.c.send_at.is_not(None),
            p.c.send_at <= now,
        )
        if list_name is not None:
            q = q.where(p.c.list_name == list_name)
        with self.store.engine.connect() as conn:
            return _load(conn, list(conn.execute(q.order_by(p.c.send_at, p.c.id)).scalars()))

    def changes(self, plan_id: int) -> list[EditionChange]:
        c = s.edition_changes
        q = select(c).where(c.c.plan_id == plan_id).order_by(c.c.id)
        with self.store.engine.connect() as conn:
            return [EditionChange(r.at, r.who, r.action, r.detail) for r in conn.execute(q)]

    def keys(self, list_name: str) -> set[str]:
        p = s.planned_editions
        with self.store.engine.connect() as conn:
            return set(conn.execute(select(p.c.key).where(p.c.list_name == list_name)).scalars())

    # ------------------------------------------------------------------ writing
    def create(self, new: NewPlan, now: datetime) -> PlannedEdition:
        """Write a new planned edition with its variants; its key must be new for the list."""
        try:
            with self.store._tx() as conn:
                inserted = conn.execute(
                    insert(s.planned_editions).values(
                        list_name=new.list_name,
                        key=new.key,
                        kind=new.kind,
                        state=str(new.state),
                        send_at=new.send_at,
                        intros={},
                        subjects={},
                        intro_fallback=new.intro_fallback,
                        social=new.social,
                        version=1,
                        created_by=new.created_by,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                pid = int(inserted[0])
                _write_variants(conn, pid, new.variants)
                _log(conn, pid, now, new.created_by, "create", {"state": str(new.state)})
        except IntegrityError as err:
            raise EditionError(
                f"list {new.list_name!r} already has an edition {new.key!r}"
            ) from err
        return self.get(pid)

    def save(
        self,
        plan: PlannedEdition,
        *,
        version: int,
        who: str,
        action: str,
        detail: Mapping[str, Any] | None,
        now: datetime,
    ) -> PlannedEdition:
        """Write ``plan`` (state, time, intros, subjects, variants) if the stored edition is
        still at ``version``; the version goes up by one and the change is logged."""
        p = s.planned_editions
        with self.store._tx() as conn:
            changed = conn.execute(
                update(p)
                .where(p.c.id == plan.id, p.c.version == version)
                .values(
                    state=str(plan.state),
                    send_at=plan.send_at,
                    intros=dict(plan.intros),
                    subjects=dict(plan.subjects),
                    intro_fallback=plan.intro_fallback,
                    social=plan.social,
                    approved_by=plan.approved_by,
                    approved_at=plan.approved_at,
                    reason=plan.reason,
                    version=version + 1,
                    updated_at=now,
                )
            ).rowcount
            if changed != 1:
                current = conn.execute(select(p.c.version).where(p.c.id == plan.id)).scalar()
                if current is None:
                    raise NotFoundError(f"no edition with id {plan.id}")
                raise ConflictError(
                    f"edition {plan.id} was changed by someone else (version {current}, "
                    f"yours {version}); reload it and make your change again"
                )
            conn.execute(delete(s.planned_variants).where(s.planned_variants.c.plan_id == plan.id))
            _write_variants(conn, plan.id, plan.variants)
            _log(conn, plan.id, now, who, action, detail)
        return self.get(plan.id)

    def claim(
        self,
        plan_id: int,
        *,
        from_states: Sequence[PlanState],
        to_state: PlanState,
        who: str,
        action: str,
        now: datetime,
        reason: str | None = None,
    ) -> PlannedEdition | None:
        """Move an edition from one of ``from_states`` to ``to_state`` in one statement;
        ``None`` when it was not in one of them (someone else moved it first)."""
        p = s.planned_editions
        with self.store._tx() as conn:
            changed = conn.execute(
                update(p)
                .where(p.c.id == plan_id, p.c.state.in_([str(x) for x in from_states]))
                .values(state=str(to_state), version=p.c.version + 1, updated_at=now, reason=reason)
            ).rowcount
            if changed != 1:
                return None
            _log(conn, plan_id, now, who, action, {"state": str(to_state)})
        return self.get(plan_id)


def _write_variants(conn: Connection, plan_id: int, variants: Sequence[PlannedVariant]) -> None:
    if variants:
        conn.execute(
            insert(s.planned_variants),
            [
                {
                    "plan_id": plan_id,
                    "language": v.language,
                    "segment": v.segment,
                    "story_ids": list(v.story_ids),
                    "readers": v.readers,
                }
                for v in variants
            ],
        )


def _log(
    conn: Connection,
    plan_id: int,
    now: datetime,
    who: str,
    action: str,
    detail: Mapping[str, Any] | None,
) -> None:
    conn.execute(
        insert(s.edition_changes).values(
            plan_id=plan_id,
            at=now,
            who=who,
            action=action,
            detail=dict(detail) if detail is not None else None,
        )
    )


def _load(conn: Connection, ids: Sequence[int]) -> list[PlannedEdition]:
    if not ids:
        return []
    p, v = s.planned_editions, s.planned_variants
    rows = {r.id: r for r in conn.execute(select(p).where(p.c.id.in_(ids)))}
    variants: dict[int, list[PlannedVariant]] = {i: [] for i in rows}
    q = select(v).where(v.c.plan_id.in_(ids)).order_by(v.c.plan_id, v.c.language, v.c.segment)
    for r in conn.execute(q):
        variants[r.plan_id].append(
            PlannedVariant(r.language, r.segment, tuple(r.story_ids or ()), int(r.readers))
        )
    out = []
    for pid in ids:
        if pid not in rows:
            continue
        r = rows[pid]
        out.append(
            PlannedEdition(
                id=r.id,
                list_name=r.list_name,
                key=r.key,
                kind=r.kind,
                state=PlanState(r.state),
                send_at=r.send_at,
                variants=tuple(variants[pid]),
                intros=dict(r.intros or {}),
                subjects=dict(r.subjects or {}),
                intro_fallback=bool(r.intro_fallback),
                social=bool(r.social),
                version=int(r.version),
                created_by=r.created_by,
                approved_by=r.approved_by,
                approved_at=r.approved_at,
                reason=r.reason,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
        )
    return out
