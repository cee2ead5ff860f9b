"""Dashboard accounts and API tokens: listing, removing, changing a role.

(Creating them stays in :mod:`distributor.store.web`.)  Everything takes a time-free
:class:`~distributor.store.Store`; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from distributor.store import schema as s
from distributor.store.repository import Store


@dataclass(frozen=True, slots=True)
class EditorAccount:
    """An editor as ``editors list`` shows it (never the password hash)."""

    email: str
    role: str
    created_at: datetime
    last_login_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """An API token as ``tokens list`` shows it (never the token or its hash)."""

    name: str
    created_at: datetime
    last_used_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


class AccountStore:
    """Editors and API tokens over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def editors(self) -> list[EditorAccount]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.editors).order_by(s.editors.c.email)).all()
        return [EditorAccount(r.email, r.role, r.created_at, r.last_login_at) for r in rows]

    def editor_role(self, email: str) -> str | None:
        with self.engine.connect() as conn:
            role: str | None = conn.execute(
                select(s.editors.c.role).where(s.editors.c.email == email.lower())
            ).scalar_one_or_none()
        return role

    def admins(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(s.editors.c.role == "admin")).scalar_one()
            )

    def remove_editor(self, email: str) -> bool:
        """True when there was such an editor."""
        with self.engine.begin() as conn:
            res = conn.execute(delete(s.editors).where(s.editors.c.email == email.lower()))
        return bool(res.rowcount)

    def set_editor_role(self, email: str, role: str) -> bool:
        """True when there was such an editor."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(s.editors).where(s.editors.c.email == email.lower()).values(role=role)
            )
        return bool(res.rowcount)

    def tokens(self) -> list[TokenEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.api_tokens).order_by(s.api_tokens.c.name)).all()
        return [TokenEntry(r.name, r.created_at, r.last_used_at) for r in rows]

    def revoke_token(self, name: str) -> bool:
        """True when there was a token of that name."""
        with self.engine.begin() as conn:
            res = conn.execute(delete(s.api_tokens).where(s.api_tokens.c.name == name))
        return bool(res.rowcount)
