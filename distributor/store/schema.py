"""The database schema (SQLAlchemy Core).

The two ledger tables carry the "never twice" guarantee as unique
constraints: ``deliveries`` (edition, subscriber) and ``posts``
(story, channel, language).  Rows are written before a transport is called.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes (SQLite included)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: what makes a ledger row open: not yet sent (pending, in flight, failed, unknown)
UNSENT_EXPRESSION = "state <> 'sent'"
#: the condition of the partial index of ledger rows not yet sent (issue 20): the stored
#: generated column ``unsent`` (``UNSENT_EXPRESSION``), which only a change to or from
#: ``sent`` changes, so the claim and the non-sent outcomes touch no indexed column
UNSENT_CONDITION = "unsent"
#: free space left in each page of the ledger (PostgreSQL): room for a claimed or recorded
#: row's new version on its own page, which a HOT update needs
DELIVERIES_FILLFACTOR = 50

metadata = MetaData()

stories = Table(
    "stories",
    metadata,
    Column("id", String(512), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("status", String(16), nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("summary_html", Text, nullable=False, default=""),
    Column("summary_text", Text, nullable=False, default=""),
    Column("body_html", Text, nullable=False, default=""),
    Column("image_url", Text, nullable=True),
    Column("author", Text, nullable=True),
    Column("sections", JSON, nullable=False, default=list),
    Column("translation_group", String(512), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    # editorial flags (sources never write them; NULL = not set)
    Column("pinned", Boolean, nullable=True),
    Column("priority", Integer, nullable=True),
    Column("resend_updates", Boolean, nullable=True),
    # editors' choice to keep a story out of the next edition (web dashboard, issue 7)
    Column("excluded", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_stories_published", "status", "published_at"),
    Index("ix_stories_group", "translation_group"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("language", String(35), nullable=False),
    Column("timezone", String(64), nullable=True),
    Column("topics", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("list_name", String(100), primary_key=True),
    Column("subscriber_id", ForeignKey("subscribers.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

editions = Table(
    "editions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", String(100), nullable=False),
    Column("key", String(64), nullable=False),
    Column("language", String(35), nullable=False),
    # the readers' topics this variant is for ("" = readers without topics)
    Column("segment", String(255), nullable=False, default="", server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # editions (issue 14): what the editor wrote for this variant (sanitized HTML and its
    # text form) and the subject they chose; NULL = none (the template's subject)
    Column("intro_html", Text, nullable=True),
    Column("intro_text", Text, nullable=True),
    Column("subject", Text, nullable=True),
    UniqueConstraint("list_name", "key", "language", "segment", name="uq_edition"),
)

edition_stories = Table(
    "edition_stories",
    metadata,
    Column("edition_id", ForeignKey("editions.id"), primary_key=True),
    Column("story_id", ForeignKey("stories.id"), primary_key=True),
    Column("group_key", String(512), nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_edition_stories_group", "group_key"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # no foreign keys (issue 20, migration 0007): the ledger is written by one statement
    # that selects both keys from their tables, and no edition or subscriber row is ever
    # deleted (a forgotten reader's row is emptied, not removed); the checks cost two
    # look-ups (and on PostgreSQL two parent row locks) per row of a million-row ledger
    Column("edition_id", Integer, nullable=False),
    Column("subscriber_id", Integer, nullable=False),
    Column("email", String(320), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", Text, nullable=True),
    Column("provider_id", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("retryable", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # schedule (issue 8): local-time delivery; a row is not claimed before this time
    Column("not_before", UTCDateTime, nullable=True),
    # true until the row is sent (issue 20, migration 0008): computed by the database
    # from ``state`` on every write, so no writer can forget it. It is the partial
    # index's condition instead of ``state``: a change between pending, sending, failed
    # and unknown (a claim, a non-sent outcome, a recovery) leaves every indexed column
    # as it was, and PostgreSQL makes it a HOT update (no new index entries) when the
    # page has room for the new version (``DELIVERIES_FILLFACTOR``). No index may name
    # ``state`` or any other column those updates change.
    Column("unsent", Boolean, Computed(UNSENT_EXPRESSION, persisted=True)),
    UniqueConstraint("edition_id", "subscriber_id", name="uq_delivery"),
    # claims read pending rows of one edition in id order (issue 20): only rows not yet
    # sent are in this index, and a sent row leaves it once. A query uses it on SQLite
    # only when it repeats the condition word for word (``store.claims.UNSENT``).
    Index(
        "ix_deliveries_unsent",
        "edition_id",
        "id",
        sqlite_where=text(UNSENT_CONDITION),
        postgresql_where=text(UNSENT_CONDITION),
    ),
    postgresql_with={"fillfactor": DELIVERIES_FILLFACTOR},
)

posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story_id", ForeignKey("stories.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("language", String(35), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("provider_id", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("retryable", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("story_id", "channel", "language", name="uq_post"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("report", JSON, nullable=True),
)

# --- tables added by each area go below their marker ----------------------------

# --- tables: sources (issue 3) ---

# what each source's server said last time, for conditional GET (ETag / Last-Modified)
source_state = Table(
    "source_state",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=True),
    Column("outcome", Text, nullable=False, default=""),
)

# --- tables: digests (issue 4) ---

# --- tables: mail providers (issue 5) ---

#: soft bounces per address; at the provider's threshold the address is suppressed
soft_bounces = Table(
    "soft_bounces",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_reason", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: webhook deliveries already processed (replay protection), by provider and event id
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# --- tables: social (issue 6) ---

# --- tables: web (issue 7) ---

editors = Table(
    "editors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
)

# one row per counted event (sign-ups per address and per client); old rows are pruned
rate_limit_events = Table(
    "rate_limit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_rate_limit_bucket", "bucket", "at"),
)

# "send now" from the dashboard and POST /api/editions: one run per key, ever
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(100), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("scope", "key", name="uq_idempotency_key"),
)

subscriber_preferences = Table(
    "subscriber_preferences",
    metadata,
    Column("subscriber_id", ForeignKey("subscribers.id"), primary_key=True),
    Column("frequency", String(16), nullable=False),
)

# --- tables: schedule (issue 8) ---

# One row per scheduled slot of a list: which edition key it made, or why it was
# skipped.  Unique (list, slot): a slot is served once, whichever scheduler fires it.
schedule_slots = Table(
    "schedule_slots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", String(100), nullable=False),
    # the scheduled time (UTC); for local-time lists, the wall-clock time read as UTC
    Column("slot_at", UTCDateTime, nullable=False),
    Column("local_time", Boolean, nullable=False, default=False),
    Column("state", String(16), nullable=False),  # running | done | skipped | failed
    Column("edition_key", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("owner", String(200), nullable=True),
    Column("summary", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("list_name", "slot_at", name="uq_schedule_slot"),
)

# The scheduler lease (SQLite and others): whoever holds an unexpired row fires jobs.
schedule_lease = Table(
    "schedule_lease",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)

# Lists an editor paused with `distributor schedule pause LIST`.
schedule_paused = Table(
    "schedule_paused",
    metadata,
    Column("list_name", String(100), primary_key=True),
    Column("paused_at", UTCDateTime, nullable=False),
)


# --- tables: editions (issue 14) ---

# An edition an editor can see and shape before it goes: one list, one key (a date, or a
# one-off key), its life cycle (draft -> approved | scheduled -> sending -> sent, or
# cancelled) and what the editor chose.  Its variants are below; the ledger editions
# (``editions``) are made from it when it is sent.
planned_editions = Table(
    "planned_editions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", String(100), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # regular | one_off
    Column("state", String(16), nullable=False),
    Column("send_at", UTCDateTime, nullable=True),
    Column("intros", JSON, nullable=False, default=dict),  # language -> Markdown
    Column("subjects", JSON, nullable=False, default=dict),  # language -> subject
    Column("intro_fallback", Boolean, nullable=False, default=False),
    Column("social", Boolean, nullable=False, default=True),
    Column("version", Integer, nullable=False, default=1),
    Column("created_by", String(320), nullable=False, default=""),
    Column("approved_by", String(320), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),  # why it is held, cancelled or failed
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("list_name", "key", name="uq_planned_edition"),
    Index("ix_planned_editions_due", "state", "send_at"),
)

# One variant (language x reader segment) of a planned edition: its stories in order.
planned_variants = Table(
    "planned_variants",
    metadata,
    Column("plan_id", ForeignKey("planned_editions.id"), primary_key=True),
    Column("language", String(35), primary_key=True),
    Column("segment", String(255), primary_key=True),
    Column("story_ids", JSON, nullable=False, default=list),
    Column("readers", Integer, nullable=False, default=0),
)

# Every change to a planned edition: who, when, what.
edition_changes = Table(
    "edition_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", ForeignKey("planned_editions.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("who", String(320), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", JSON, nullable=True),
    Index("ix_edition_changes_plan", "plan_id", "id"),
)

# --- tables: social queue (issue 18) ---

# A social post an editor can see and steer before it goes: one per (story, channel,
# language), its life cycle (draft -> approved | scheduled -> posting -> posted |
# failed | unknown, or cancelled), its text and its time.  The ledger row (``posts``)
# is written only when it is claimed for posting: that row still keeps it from going
# out twice.
queued_posts = Table(
    "queued_posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story_id", ForeignKey("stories.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("language", String(35), nullable=False),
    Column("state", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("text_version", Integer, nullable=False, default=1),
    Column("version", Integer, nullable=False, default=1),
    Column("at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_by", String(320), nullable=False, default=""),
    Column("approved_by", String(320), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("posted_version", Integer, nullable=True),
    Column("provider_id", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("story_id", "channel", "language", name="uq_queued_post"),
    Index("ix_queued_posts_due", "channel", "state", "at"),
)

# Every change to a queued post; a change with ``text`` is a new text version.
post_changes = Table(
    "post_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", ForeignKey("queued_posts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("who", String(320), nullable=False),
    Column("action", String(32), nullable=False),
    Column("text_version", Integer, nullable=False),
    Column("text", Text, nullable=True),
    Column("detail", JSON, nullable=True),
    Index("ix_post_changes_post", "post_id", "id"),
)

# The counts the network exposes for a post that went out, as last read.
post_metrics = Table(
    "post_metrics",
    metadata,
    Column("post_id", ForeignKey("queued_posts.id"), primary_key=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("likes", Integer, nullable=True),
    Column("reposts", Integer, nullable=True),
    Column("replies", Integer, nullable=True),
    Column("quotes", Integer, nullable=True),
    Column("error", Text, nullable=True),
)


# Reach and engagement (issue 17, docs/privacy.md): counts per hour and per (edition
# variant, story place, link kind, network); one upsert per click, never a row per click.
# ``edition_id`` is not a foreign key: the counts outlive a deleted edition's rows.
click_counts = Table(
    "click_counts",
    metadata,
    Column("edition_id", Integer, primary_key=True),
    Column("story_index", Integer, primary_key=True),  # -1: the variant (opens, readers)
    Column("kind", String(8), primary_key=True),  # story | more | share | open | reader
    Column("network", String(32), primary_key=True),  # share links; "" otherwise
    Column("hour", UTCDateTime, primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Column("uniques", Integer, nullable=False, default=0),
    Column("machine", Integer, nullable=False, default=0),  # scanners, prefetch, floods
)

# Today's salted digests of (client address, browser, link): uniques without addresses.
# Rows and salts of an earlier day are deleted; the salt never leaves the database.
click_seen = Table(
    "click_seen",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("digest", String(32), primary_key=True),
)
click_salts = Table(
    "click_salts",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("salt", String(64), nullable=False),
)

# ``tracking = "per_reader"`` lists only (an opt-in): who clicked what, kept with the
# reader's other data and deleted with them.
reader_clicks = Table(
    "reader_clicks",
    metadata,
    Column("edition_id", Integer, primary_key=True),
    Column("subscriber_id", Integer, primary_key=True),
    Column("story_index", Integer, primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("network", String(32), primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
