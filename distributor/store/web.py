"""Repository code of the web app and its CLI: subscribers' life cycle, editors, API tokens,
rate limits, idempotency keys, story flags and edition figures.

Everything takes the :class:`~distributor.store.Store` (its engine) and a time ``now``;
nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from distributor.models import Subscriber, SubscriberStatus
from distributor.store import schema as s
from distributor.store.repository import Store, add_membership, membership_status, subscriber_row

Frequency = Literal["daily", "weekly"]
FREQUENCIES: tuple[str, ...] = ("daily", "weekly")
Role = Literal["editor", "admin"]
ROLES: tuple[str, ...] = ("editor", "admin")
FORGOTTEN_PREFIX = "sha256:"
#: the status shown for an address on the suppression list, whatever its membership
SUPPRESSED = "suppressed"


def email_hash(email: str) -> str:
    """The hashed form kept on the suppression list for a forgotten address."""
    return FORGOTTEN_PREFIX + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SubscriberEntry:
    """One subscriber on one list, as the dashboard, the API and the CLI show it."""

    id: int
    email: str
    name: str
    language: str
    timezone: str | None
    topics: tuple[str, ...]
    frequency: str
    list_name: str
    status: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "language": self.language,
            "timezone": self.timezone,
            "topics": list(self.topics),
            "frequency": self.frequency,
            "list": self.list_name,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Preferences:
    language: str
    timezone: str | None
    topics: tuple[str, ...]
    frequency: str
    name: str = ""


@dataclass
class ImportResult:
    added: int = 0
    kept: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)


@dataclass(frozen=True, slots=True)
class Editor:
    id: int
    email: str
    role: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    status: str  # "started" | "done"
    response: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EditionFigures:
    id: int
    list_name: str
    key: str
    language: str
    created_at: datetime
    stories: int
    recipients: int
    pending: int
    sent: int
    failed: int
    unknown: int
    bounced: int
    complained: int
    unsubscribed: int

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["list"] = out.pop("list_name")
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: str
    title: str
    url: str
    language: str
    published_at: datetime | None
    sections: tuple[str, ...]
    pinned: bool
    excluded: bool


class WebStore:
    """The web app's queries over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ---------------------------------------------------------------- blocking
    def suppression_reason(self, email: str) -> str | None:
        """Why an address may not be mailed (suppressed or forgotten), or None."""
        email = email.lower()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.suppressions.c.reason).where(
                    s.suppressions.c.email.in_([email, email_hash(email)])
                )
            ).first()
        return None if row is None else str(row.reason)

    # ------------------------------------------------------------- subscribers
    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.subscribers).where(s.subscribers.c.id == subscriber_id)
            ).first()
        return None if row is None else _subscriber(row)

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.subscribers).where(s.subscribers.c.email == email.lower())
            ).first()
        return None if row is None else _subscriber(row)

    def membership(self, subscriber_id: int, list_name: str) -> str | None:
        """The membership status on one list (``pending``/``subscribed``/...), or None."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(s.memberships.c.status).where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                )
            ).scalar_one_or_none()

    def weekly_subscribers(self) -> set[int]:
        """Ids of the readers who chose the weekly digest."""
        with self.store.engine.connect() as conn:
            return set(
                conn.execute(
                    select(s.subscriber_preferences.c.subscriber_id).where(
                        s.subscriber_preferences.c.frequency == "weekly"
                    )
                ).scalars()
            )

    def frequency(self, subscriber_id: int) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(s.subscriber_preferences.c.frequency).where(
                    s.subscriber_preferences.c.subscriber_id == subscriber_id
                )
            ).scalar_one_or_none()
        return value or "daily"

    def start_signup(
        self, list_name: str, email: str, prefs: Preferences, now: datetime
    ) -> tuple[int, str]:
        """Record a sign-up. Returns (subscriber id, status before this sign-up).

        A new address becomes ``pending`` with the chosen preferences.  An
        existing one keeps its status and preferences until it confirms (the
        confirmation token carries the new preferences).
        """
        row = Subscriber(
            id=0,
            email=email,
            name=prefs.name,
            language=prefs.language,
            timezone=prefs.timezone,
            topics=tuple(prefs.topics),
        )
        with self.engine.begin() as conn:
            sid, created = subscriber_row(conn, row, now)
            if created:
                _set_frequency(conn, sid, prefs.frequency)
            status = membership_status(conn, list_name, sid)
            if status is None:
                add_membership(conn, list_name, sid, SubscriberStatus.PENDING.value, now)
        return int(sid), status or "new"

    def confirm(
        self, subscriber_id: int, list_name: str, prefs: Preferences | None, now: datetime
    ) -> str:
        """Make a membership ``subscribed`` (a resubscription too). Returns the outcome:
        ``subscribed``, ``already`` or ``suppressed`` (nothing changed) or ``gone``."""
        sub = self.subscriber(subscriber_id)
        if sub is None:
            return "gone"
        reason = self.suppression_reason(sub.email)
        if reason is not None:
            return SUPPRESSED
        with self.engine.begin() as conn:
            status = conn.execute(
                select(s.memberships.c.status).where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                )
            ).scalar_one_or_none()
            if prefs is not None:
                _apply_preferences(conn, subscriber_id, prefs)
            if status == SubscriberStatus.SUBSCRIBED.value:
                return "already"
            if status is None:
                conn.execute(
                    insert(s.memberships).values(
                        list_name=list_name,
                        subscriber_id=subscriber_id,
                        status=SubscriberStatus.SUBSCRIBED.value,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    update(s.memberships)
                    .where(
                        s.memberships.c.subscriber_id == subscriber_id,
                        s.memberships.c.list_name == list_name,
                    )
                    .values(status=SubscriberStatus.SUBSCRIBED.value, updated_at=now)
                )
        return "subscribed"

    def unsubscribe(self, subscriber_id: int, list_name: str, now: datetime) -> bool:
        """Unsubscribe from one list at once. False if there was no such membership."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(s.memberships)
                .where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                    s.memberships.c.status != SubscriberStatus.UNSUBSCRIBED.value,
                )
                .values(status=SubscriberStatus.UNSUBSCRIBED.value, updated_at=now)
            )
            if res.rowcount:
                return True
            return (
                conn.execute(
                    select(s.memberships.c.status).where(
                        s.memberships.c.subscriber_id == subscriber_id,
                        s.memberships.c.list_name == list_name,
                    )
                ).first()
                is not None
            )

    def update_preferences(self, subscriber_id: int, prefs: Preferences) -> None:
        with self.engine.begin() as conn:
            _apply_preferences(conn, subscriber_id, prefs)

    def add(
        self, list_name: str, sub: Subscriber, frequency: str, now: datetime
    ) -> tuple[str, int | None]:
        """Add one address as ``subscribed`` (an editor or the API vouches for consent).

        Returns (outcome, id): ``added``, ``exists`` (already subscribed or
        pending, left as it is) or a refusal: ``suppressed``, ``unsubscribed``
        (only the reader can come back, through the sign-up form).
        """
        result = self.import_rows(list_name, [sub], now, frequency=frequency)
        found = self.subscriber_by_email(sub.email)
        sid = found.id if found else None
        if result.added:
            return "added", sid
        if result.refused:
            return result.refused[0][1].split(":")[0], sid
        return "exists", sid

    def import_rows(
        self, list_name: str, rows: Iterable[Subscriber], now: datetime, frequency: str = "daily"
    ) -> ImportResult:
        """Import subscribers: new addresses become ``subscribed``; existing members keep
        their status; suppressed, forgotten and unsubscribed addresses are refused."""
        out = ImportResult()
        rows = list(rows)
        for sub in rows:
            email = sub.email.lower()
            reason = self.suppression_reason(email)
            if reason is not None:
                out.refused.append((email, f"suppressed: on the suppression list ({reason})"))
                continue
            with self.engine.begin() as conn:
                sid, created = subscriber_row(conn, sub, now)
                if created:
                    _set_frequency(conn, sid, frequency)
                status = membership_status(conn, list_name, sid)
                if status == SubscriberStatus.UNSUBSCRIBED.value:
                    out.refused.append(
                        (email, "unsubscribed: left the list; only the reader can resubscribe")
                    )
                elif status is not None:
                    out.kept += 1
                else:
                    add_membership(conn, list_name, sid, SubscriberStatus.SUBSCRIBED.value, now)
                    out.added += 1
        return out

    def entries(
        self,
        *,
        list_name: str | None = None,
        query: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SubscriberEntry]:
        """Subscribers with their per-list status (suppressed wins over the membership)."""
        q = (
            select(
                s.subscribers,
                s.memberships.c.list_name,
                s.memberships.c.status.label("membership"),
                s.memberships.c.updated_at.label("member_updated"),
                s.subscriber_preferences.c.frequency,
                s.suppressions.c.email.label("suppressed"),
            )
            .join(s.memberships, s.memberships.c.subscriber_id == s.subscribers.c.id)
            .outerjoin(
                s.subscriber_preferences,
                s.subscriber_preferences.c.subscriber_id == s.subscribers.c.id,
            )
            .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
            .order_by(s.subscribers.c.id, s.memberships.c.list_name)
        )
        if list_name:
            q = q.where(s.memberships.c.list_name == list_name)
        if query:
            like = f"%{query.lower()}%"
            q = q.where(or_(s.subscribers.c.email.like(like), s.subscribers.c.name.like(like)))
        if status == SUPPRESSED:
            q = q.where(s.suppressions.c.email.is_not(None))
        elif status:
            q = q.where(s.memberships.c.status == status, s.suppressions.c.email.is_(None))
        if limit is not None:
            q = q.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [
                SubscriberEntry(
                    id=r.id,
                    email=r.email,
                    name=r.name,
                    language=r.language,
                    timezone=r.timezone,
                    topics=tuple(r.topics or ()),
                    frequency=r.frequency or "daily",
                    list_name=r.list_name,
                    status=SUPPRESSED if r.suppressed else r.membership,
                    created_at=r.created_at,
                    updated_at=r.member_updated,
                )
                for r in conn.execute(q)
            ]

    def count_by_status(self, list_name: str) -> dict[str, int]:
        """Members of a list per status (suppressed counted apart, whatever the membership)."""
        counts = {"pending": 0, "subscribed": 0, "unsubscribed": 0, SUPPRESSED: 0}
        q = (
            select(
                s.memberships.c.status,
                s.suppressions.c.email.is_not(None).label("suppressed"),
                func.count(),
            )
            .join(s.subscribers, s.subscribers.c.id == s.memberships.c.subscriber_id)
            .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
            .where(s.memberships.c.list_name == list_name)
            .group_by(s.memberships.c.status, "suppressed")
        )
        with self.engine.connect() as conn:
            for status, suppressed, n in conn.execute(q):
                key = SUPPRESSED if suppressed else status
                counts[key] = counts.get(key, 0) + n
        return counts

    def forget(self, email: str, now: datetime) -> bool:
        """Erase a subscriber's personal data; keep only a hashed suppression entry.

        The subscriber row stays (the ledger points at it) with its address
        replaced by an opaque placeholder and every other field emptied; the
        memberships, preferences and the ledger's copies of the address go.
        Returns False if the address was unknown (the hashed entry is still kept).
        """
        email = email.strip().lower()
        hashed = email_hash(email)
        with self.engine.begin() as conn:
            sid = conn.execute(
                select(s.subscribers.c.id).where(s.subscribers.c.email == email)
            ).scalar_one_or_none()
            conn.execute(delete(s.suppressions).where(s.suppressions.c.email == email))
            exists = conn.execute(
                select(s.suppressions.c.email).where(s.suppressions.c.email == hashed)
            ).first()
            if exists is None:
                conn.execute(
                    insert(s.suppressions).values(email=hashed, reason="forgotten", created_at=now)
                )
            conn.execute(
                delete(s.rate_limit_events).where(
                    s.rate_limit_events.c.bucket == f"signup:address:{hashed}"
                )
            )
            if sid is None:
                return False
            placeholder = f"forgotten-{sid}@invalid"
            conn.execute(delete(s.memberships).where(s.memberships.c.subscriber_id == sid))
            conn.execute(
                delete(s.subscriber_preferences).where(
                    s.subscriber_preferences.c.subscriber_id == sid
                )
            )
            # per-reader clicks (issue 17, lists with tracking = "per_reader")
            conn.execute(delete(s.reader_clicks).where(s.reader_clicks.c.subscriber_id == sid))
            conn.execute(
                update(s.deliveries)
                .where(s.deliveries.c.subscriber_id == sid)
                .values(email=placeholder)
            )
            conn.execute(
                update(s.subscribers)
                .where(s.subscribers.c.id == sid)
                .values(email=placeholder, name="", timezone=None, topics=[], language="und")
            )
        return True

    def lift_forgotten(self, email: str) -> None:
        """A forgotten reader signed up again and confirmed: drop the hashed entry."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(s.suppressions).where(
                    s.suppressions.c.email == email_hash(email),
                    s.suppressions.c.reason == "forgotten",
                )
            )

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

    # ----------------------------------------------------------------- stories
    def recent_stories(self, since: datetime, limit: int = 200) -> list[StoryRow]:
        q = (
            select(s.stories)
            .where(or_(s.stories.c.published_at >= since, s.stories.c.pinned.is_(True)))
            .order_by(s.stories.c.published_at.desc(), s.stories.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                StoryRow(
                    r.id,
                    r.title,
                    r.url,
                    r.language,
                    r.published_at,
                    tuple(r.sections or ()),
                    bool(r.pinned),
                    bool(r.excluded),
                )
                for r in conn.execute(q)
            ]

    def set_story_flag(self, story_id: str, flag: Literal["pinned", "excluded"], on: bool) -> bool:
        values: dict[str, bool] = {flag: on}
        if on:  # pinned and excluded exclude each other
            values["excluded" if flag == "pinned" else "pinned"] = False
        with self.engine.begin() as conn:
            res = conn.execute(update(s.stories).where(s.stories.c.id == story_id).values(values))
        return bool(res.rowcount)

    def story_flags(self) -> tuple[set[str], set[str]]:
        """(pinned, excluded): story ids and translation groups, so a flag set on one
        version applies to its translations too."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    s.stories.c.id,
                    s.stories.c.translation_group,
                    s.stories.c.pinned,
                    s.stories.c.excluded,
                ).where(or_(s.stories.c.pinned.is_(True), s.stories.c.excluded.is_(True)))
            ).all()
        pinned: set[str] = set()
        excluded: set[str] = set()
        for r in rows:
            keys = {r.id, r.translation_group or r.id}
            (pinned if r.pinned else excluded).update(keys)
        return pinned, excluded

    # ---------------------------------------------------------------- editions
    def edition_figures(
        self, *, list_name: str | None = None, edition_id: int | None = None, limit: int = 100
    ) -> list[EditionFigures]:
        """Editions, newest first, with their delivery figures.

        ``bounced``/``complained``: recipients now on the suppression list for
        that reason; ``unsubscribed``: recipients who left the list after this
        edition and before the next one of the same list and language.
        """
        q = select(s.editions).order_by(s.editions.c.created_at.desc(), s.editions.c.id.desc())
        if list_name:
            q = q.where(s.editions.c.list_name == list_name)
        if edition_id is not None:
            q = q.where(s.editions.c.id == edition_id)
        with self.engine.connect() as conn:
            eds = conn.execute(q.limit(limit)).all()
            out = []
            for e in eds:
                states: dict[str, int] = dict(
                    conn.execute(
                        select(s.deliveries.c.state, func.count())
                        .where(s.deliveries.c.edition_id == e.id)
                        .group_by(s.deliveries.c.state)
                    ).all()
                )
                n_stories = conn.execute(
                    select(func.count()).where(s.edition_stories.c.edition_id == e.id)
                ).scalar_one()
                reasons = conn.execute(
                    select(s.suppressions.c.reason)
                    .join(s.deliveries, s.deliveries.c.email == s.suppressions.c.email)
                    .where(s.deliveries.c.edition_id == e.id)
                ).scalars()
                bounced = complained = 0
                for reason in reasons:
                    low = reason.lower()
                    if low.startswith("bounce") or "hard bounce" in low:
                        bounced += 1
                    elif low.startswith("complain") or "spam" in low:
                        complained += 1
                next_at = conn.execute(
                    select(func.min(s.editions.c.created_at)).where(
                        s.editions.c.list_name == e.list_name,
                        s.editions.c.language == e.language,
                        s.editions.c.created_at > e.created_at,
                    )
                ).scalar_one_or_none()
                left = select(func.count()).select_from(
                    s.deliveries.join(
                        s.memberships,
                        and_(
                            s.memberships.c.subscriber_id == s.deliveries.c.subscriber_id,
                            s.memberships.c.list_name == e.list_name,
                        ),
                    )
                )
                left = left.where(
                    s.deliveries.c.edition_id == e.id,
                    s.memberships.c.status == SubscriberStatus.UNSUBSCRIBED.value,
                    s.memberships.c.updated_at >= e.created_at,
                )
                if next_at is not None:
                    left = left.where(s.memberships.c.updated_at < next_at)
                out.append(
                    EditionFigures(
                        id=e.id,
                        list_name=e.list_name,
                        key=e.key,
                        language=e.language,
                        created_at=e.created_at,
                        stories=n_stories,
                        recipients=sum(states.values()),
                        pending=states.get("pending", 0) + states.get("sending", 0),
                        sent=states.get("sent", 0),
                        failed=states.get("failed", 0),
                        unknown=states.get("unknown", 0),
                        bounced=bounced,
                        complained=complained,
                        unsubscribed=conn.execute(left).scalar_one(),
                    )
                )
        return out

    def posts(self, limit: int = 100) -> list[dict[str, Any]]:
        """The posts ledger, newest first, with each story's title and URL."""
        q = (
            select(
                s.posts,
                s.stories.c.title,
                s.stories.c.url,
                s.stories.c.language.label("story_language"),
            )
            .join(s.stories, s.stories.c.id == s.posts.c.story_id)
            .order_by(s.posts.c.updated_at.desc(), s.posts.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        id=row.id,
        email=row.email,
        name=row.name,
        language=row.language,
        timezone=row.timezone,
        topics=tuple(row.topics or ()),
    )


def _set_frequency(conn: Any, subscriber_id: int, frequency: str) -> None:
    res = conn.execute(
        update(s.subscriber_preferences)
        .where(s.subscriber_preferences.c.subscriber_id == subscriber_id)
        .values(frequency=frequency)
    )
    if not res.rowcount:
        conn.execute(
            insert(s.subscriber_preferences).values(
                subscriber_id=subscriber_id, frequency=frequency
            )
        )


def _apply_preferences(conn: Any, subscriber_id: int, prefs: Preferences) -> None:
    values: dict[str, Any] = {
        "language": prefs.language,
        "timezone": prefs.timezone,
        "topics": list(prefs.topics),
    }
    if prefs.name:
        values["name"] = prefs.name
    conn.execute(update(s.subscribers).where(s.subscribers.c.id == subscriber_id).values(values))
    _set_frequency(conn, subscriber_id, prefs.frequency)


def preferences_from(data: dict[str, Any], fallback: Preferences) -> Preferences:
    """Preferences from a confirmation token's payload (validated when it was made)."""
    topics = data.get("topics", fallback.topics)
    return Preferences(
        language=str(data.get("language", fallback.language)),
        timezone=data.get("timezone", fallback.timezone) or None,
        topics=tuple(str(t) for t in topics) if isinstance(topics, Sequence) else fallback.topics,
        frequency=str(data.get("frequency", fallback.frequency)),
        name=str(data.get("name", fallback.name)),
    )
