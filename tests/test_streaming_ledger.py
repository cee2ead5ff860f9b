"""Issue 9: editions made by streaming the readers, and the bulk ledger protocol.

Streaming (:meth:`Store.create_editions` from :func:`pipeline.plan_list`) must make
the very editions and ledger the loading path (:func:`pipeline.select` then
``create_edition`` per plan) makes, on the sample newsroom with segments, weekly
readers, suppressed addresses and fallback languages; all or nothing; and the
ledger's bulk writes and ranged claims keep every row's own outcome.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from distributor.errors import StoreError
from distributor.models import DeliveryResult, Edition, Subscriber
from distributor.pipeline import Context, fetch_sources, plan_list, sync_subscribers
from distributor.pipeline import select as select_plans
from distributor.report import RunReport
from distributor.store import Store
from distributor.store import schema as s
from distributor.store.repository import NewVariant, ReaderProfile
from tests.conftest import NOW, readers_edition, settings_for, write_config


def _newsroom(make_context: Any, tmp_path: Path, list_extra: str = "") -> Context:
    """The sample newsroom with its stories and readers, a few readers weekly, two
    suppressed, and some extra readers in a fallback-only language."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    ctx: Context = make_context(settings_for(write_config(tmp_path, list_extra=list_extra)))
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    fetch_sources(ctx, report)
    cfg = ctx.settings.lists["daily"]
    sync_subscribers(ctx, "daily", cfg, report)
    extra = [
        Subscriber(
            0,
            f"x{i}@example.com",
            f"X {i}",
            ("sw", "en", "fr-CA")[i % 3],
            None,
            (("world",), (), ("science", "world"))[i % 3],
        )
        for i in range(30)
    ]
    ctx.store.add_subscribers("daily", extra, NOW)
    ids = [r.id for r in ctx.store.recipients("daily")]
    with ctx.store.engine.begin() as conn:
        conn.execute(
            insert(s.subscriber_preferences),
            [{"subscriber_id": i, "frequency": "weekly"} for i in ids[::5]],
        )
    emails = [r.email for r in ctx.store.recipients("daily")]
    ctx.store.suppress(emails[1], "hard bounce", NOW)
    ctx.store.suppress(emails[7], "complaint", NOW)
    return ctx


def _ledger(store: Store) -> dict[tuple[str, str], tuple[tuple[str, ...], list[tuple[int, str]]]]:
    """(language, segment) -> (story ids, sorted (subscriber id, email) of its rows)."""
    out = {}
    with store.engine.connect() as conn:
        for e in conn.execute(select(s.editions)):
            stories = tuple(
                conn.execute(
                    select(s.edition_stories.c.story_id)
                    .where(s.edition_stories.c.edition_id == e.id)
                    .order_by(s.edition_stories.c.position)
                ).scalars()
            )
            rows = sorted(
                (r.subscriber_id, r.email)
                for r in conn.execute(select(s.deliveries).where(s.deliveries.c.edition_id == e.id))
                if r.state == "pending" and r.attempts == 0
            )
            out[(e.language, e.segment)] = (stories, rows)
    return out


@pytest.mark.parametrize("weekly_day", ["saturday", "monday"])  # NOW is a Saturday
def test_streaming_makes_the_same_editions_and_ledger(
    make_context: Any, tmp_path: Path, weekly_day: str
) -> None:
    extra = f'weekly_day = "{weekly_day}"\nfallback_language = "fr"'
    old = _newsroom(make_context, tmp_path / "old", extra)
    new = _newsroom(make_context, tmp_path / "new", extra)
    cfg = old.settings.lists["daily"]

    plans = select_plans(old, "daily", cfg)
    for p in plans:
        old.store.create_edition(
            list_name="daily",
            key="k",
            language=p.language,
            stories=p.stories,
            recipients=p.recipients,
            now=NOW,
            segment=p.segment,
        )
    selection = plan_list(new, "daily", cfg)
    made = new.store.create_editions(
        list_name="daily",
        key="k",
        variants=selection.variants,
        variant_of=selection.variant_of,
        now=NOW,
        chunk_size=4,
    )

    expected = _ledger(old.store)
    assert _ledger(new.store) == expected
    # the plans agree too, reader counts included
    assert [(p.language, p.segment, p.stories, len(p.recipients)) for p in plans] == [
        (p.language, p.segment, p.stories, p.readers) for p in selection.plans
    ]
    assert [rows for _e, rows in made] == [
        len(expected[(e.language, e.segment)][1]) for e, _ in made
    ]
    segments = {seg for _lang, seg in expected}
    assert any(seg.startswith("weekly") for seg in segments) is (weekly_day == "saturday")
    assert len(segments) > 2 and len({lang for lang, _ in expected}) > 2
    # suppressed addresses get no row
    suppressed = {e for (e,) in new.store.engine.connect().execute(select(s.suppressions.c.email))}
    assert not suppressed & {email for _st, rows in expected.values() for _i, email in rows}


def test_creation_is_all_or_nothing(make_context: Any, tmp_path: Path) -> None:
    ctx = _newsroom(make_context, tmp_path)
    selection = plan_list(ctx, "daily", ctx.settings.lists["daily"])
    seen: list[ReaderProfile] = []

    def failing(profile: ReaderProfile) -> tuple[str, str] | None:
        seen.append(profile)
        if len(seen) == 4:  # after several chunks were written
            raise StoreError("the database went away")
        return selection.variant_of(profile)

    with pytest.raises(StoreError, match="went away"):
        ctx.store.create_editions(
            list_name="daily",
            key="k",
            variants=selection.variants,
            variant_of=failing,
            now=NOW,
            chunk_size=2,
        )
    with ctx.store.engine.connect() as conn:
        assert conn.execute(select(s.editions)).all() == []
        assert conn.execute(select(s.deliveries)).all() == []
        assert conn.execute(select(s.edition_stories)).all() == []
    # a variant made twice under one key: refused, and nothing of the second try stays
    ctx.store.create_editions(
        list_name="daily",
        key="k",
        variants=selection.variants,
        variant_of=selection.variant_of,
        now=NOW,
    )
    before = _ledger(ctx.store)
    with pytest.raises(StoreError, match="already exists"):
        ctx.store.create_editions(
            list_name="daily",
            key="k",
            variants=[NewVariant("zz", "", ()), *selection.variants],
            variant_of=selection.variant_of,
            now=NOW,
        )
    assert _ledger(ctx.store) == before


# --------------------------------------------------------------------- the ledger
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: Any, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    opened = Store.open(url)
    yield opened
    opened.close()


def _rows(store: Store, edition: Edition) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in store.deliveries(edition.id)}


def test_record_deliveries_writes_each_rows_own_outcome(store: Store) -> None:
    edition = readers_edition(store, 12)
    claimed = store.claim_deliveries(edition, 12, NOW)
    assert [c.subscriber.name for c in claimed] == [f"R {i}" for i in range(12)]
    k = [c.key for c in claimed]
    results = [
        DeliveryResult.sent(k[0], provider_id="<a@mg>"),
        DeliveryResult.sent(k[1], provider_id="<a@mg>"),
        DeliveryResult.sent(k[2], provider_id="<b@mg>"),
        DeliveryResult.sent(k[3], provider_id="<b@mg>"),  # no message id: the grouped UPDATE
        DeliveryResult.failed(k[4], "mailbox full", retryable=True),
        DeliveryResult.failed(k[5], "mailbox full", retryable=True),
        DeliveryResult.failed(k[6], "no such user", retryable=False),
        DeliveryResult.unknown(k[7], "timeout after sending"),
        DeliveryResult.sent(k[8]),
        DeliveryResult.failed(k[9], "no such user", retryable=False),
        # k[10], k[11]: no result at all
    ]
    later = NOW + timedelta(minutes=3)
    store.record_deliveries(claimed, results, later)
    rows = _rows(store, edition)
    got = [
        (
            rows[c.id]["state"],
            rows[c.id]["provider_id"],
            rows[c.id]["error"],
            rows[c.id]["retryable"],
            rows[c.id]["message_id"],
        )
        for c in claimed
    ]
    no_result = "transport returned no result for this message"
    # the Message-ID is not stored (issue 20): it is derived from the row's ledger key
    assert got == [
        ("sent", "<a@mg>", None, False, None),
        ("sent", "<a@mg>", None, False, None),
        ("sent", "<b@mg>", None, False, None),
        ("sent", "<b@mg>", None, False, None),
        ("failed", None, "mailbox full", True, None),
        ("failed", None, "mailbox full", True, None),
        ("failed", None, "no such user", False, None),
        ("unknown", None, "timeout after sending", False, None),
        ("sent", None, None, False, None),
        ("failed", None, "no such user", False, None),
        ("unknown", None, no_result, False, None),
        ("unknown", None, no_result, False, None),
    ]
    assert all(r["updated_at"] == later and r["attempts"] == 1 for r in rows.values())


def test_claims_by_id_range_and_recovery_of_stale_rows_only(store: Store) -> None:
    edition = readers_edition(store, 10)
    ids = sorted(_rows(store, edition))
    first = store.claim_deliveries(edition, 100, NOW, id_range=(ids[2], ids[5]))
    assert [c.id for c in first] == ids[2:6]
    assert store.claim_deliveries(edition, 100, NOW, id_range=(ids[2], ids[5])) == []
    later = NOW + timedelta(minutes=10)
    second = store.claim_deliveries(edition, 2, later, id_range=(ids[6], ids[9]))
    assert [c.id for c in second] == ids[6:8]
    # only claims older than the lease are stale: the later claim is left alone
    lease_start = NOW + timedelta(minutes=5)
    assert (
        store.recover_deliveries(edition.id, idempotent=False, now=later, stale_before=lease_start)
        == 4
    )
    rows = _rows(store, edition)
    assert [rows[i]["state"] for i in ids] == (
        ["pending"] * 2 + ["unknown"] * 4 + ["sending"] * 2 + ["pending"] * 2
    )
    assert "not resent" in rows[ids[2]]["error"]
    # a range limits recovery too; an idempotent transport gets its rows back to pending
    much_later = later + timedelta(hours=1)
    assert (
        store.recover_deliveries(
            edition.id,
            idempotent=True,
            now=much_later,
            stale_before=much_later,
            id_range=(ids[7], ids[9]),
        )
        == 1
    )
    rows = _rows(store, edition)
    assert (rows[ids[6]]["state"], rows[ids[7]]["state"]) == ("sending", "pending")
    # an unknown row is never claimed again
    rest = store.claim_deliveries(edition, 100, much_later)
    assert [c.id for c in rest] == [ids[0], ids[1], ids[7], ids[8], ids[9]]
