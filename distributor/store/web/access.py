"""Who may act: rate limits, editors, API tokens and idempotency keys."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from distributor.store import schema as s
from distributor.store.web.base import WebQueries
from distributor.store.web.values import (
    Editor,
    IdempotencyRecord,
    token_hash,
)


class AccessQueries(WebQueries):
    # ------------------------------------------------------------- rate limits
    def rate_limited_hit(
        self, bucket: str, *, limit: int, window: timedelta, now: datetime
    ) -> bool:
        """Count one event in ``bucket``; False (and nothing counted) when over the limit."""
        since = now - window
        with self.engine.begin() as conn:
            conn.execute(
                delete(s.rate_limit_events).where(s.rate_limit_events.c.at < now - 2 * window)
            )
            used = conn.execute(
                select(func.count()).where(
                    s.rate_limit_events.c.bucket == bucket, s.rate_limit_events.c.at > since
                )
            ).scalar_one()
            if used >= limit:
                return False
            conn.execute(insert(s.rate_limit_events).values(bucket=bucket, at=now))
        return True

    # ----------------------------------------------------------------- editors
    def add_editor(self, email: str, password_hash: str, role: str, now: datetime) -> bool:
        """Create an editor, or reset the password and role of an existing one.
        Returns True when created."""
        email = email.lower()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(s.editors)
                .where(s.editors.c.email == email)
                .values(password_hash=password_hash, role=role)
            )
            if res.rowcount:
                return False
            conn.execute(
                insert(s.editors).values(
                    email=email, password_hash=password_hash, role=role, created_at=now
                )
            )
        return True

    def editor_by_email(self, email: str) -> Editor | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(s.editors).where(s.editors.c.email == email.lower())).first()
        return None if row is None else Editor(row.id, row.email, row.role, row.password_hash)

    def editor(self, editor_id: int) -> Editor | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(s.editors).where(s.editors.c.id == editor_id)).first()
        return None if row is None else Editor(row.id, row.email, row.role, row.password_hash)

    def editor_logged_in(self, editor_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(s.editors).where(s.editors.c.id == editor_id).values(last_login_at=now)
            )

    # -------------------------------------------------------------- API tokens
    def create_api_token(self, name: str, now: datetime) -> str:
        """A new bearer token; only its hash is stored, the token is shown once."""
        token = "dst_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(s.api_tokens).where(s.api_tokens.c.name == name))
            conn.execute(
                insert(s.api_tokens).values(name=name, token_hash=token_hash(token), created_at=now)
            )
        return token

    def api_token_name(self, token: str, now: datetime) -> str | None:
        digest = token_hash(token)
        with self.engine.begin() as conn:
            name = conn.execute(
                select(s.api_tokens.c.name).where(s.api_tokens.c.token_hash == digest)
            ).scalar_one_or_none()
            if name is not None:
                conn.execute(
                    update(s.api_tokens)
                    .where(s.api_tokens.c.token_hash == digest)
                    .values(last_used_at=now)
                )
        return name

    # -------------------------------------------------------- idempotency keys
    def claim_idempotency_key(
        self, scope: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyRecord | None:
        """None if this call claimed the key (go ahead); else the earlier record."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(s.idempotency_keys).values(
                        scope=scope,
                        key=key,
                        request_hash=request_hash,
                        status="started",
                        created_at=now,
                    )
                )
            return None
        except IntegrityError:
            record = self.idempotency_record(scope, key)
            assert record is not None  # the unique constraint just said it exists
            return record

    def idempotency_record(self, scope: str, key: str) -> IdempotencyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.idempotency_keys).where(
                    s.idempotency_keys.c.scope == scope, s.idempotency_keys.c.key == key
                )
            ).first()
        if row is None:
            return None
        return IdempotencyRecord(row.key, row.request_hash, row.status, row.response)

    def finish_idempotency_key(self, scope: str, key: str, response: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(s.idempotency_keys)
                .where(s.idempotency_keys.c.scope == scope, s.idempotency_keys.c.key == key)
                .values(status="done", response=response)
            )
