"""Suppressions stop later sends: new editions and rows still pending from earlier ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributor.models import DeliveryState
from distributor.pipeline import run
from distributor.store.mail import EventKind, MailEvent, apply_event
from tests.conftest import NOW, settings_for, write_config


def test_pending_row_of_a_bounced_address_is_not_sent(
    tmp_path: Path, smtp_server: Any, make_context: Any
) -> None:
    controller, recorder = smtp_server
    victim = "amira@example.org"
    path = write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"\n',
    )
    ctx = make_context(settings_for(path))
    import csv

    from tests.conftest import SAMPLE

    with (SAMPLE / "subscribers.csv").open(encoding="utf-8") as fh:
        victim = next(csv.DictReader(fh))["email"]
    recorder.refuse[victim] = "451 4.7.1 try again later"
    first = run(ctx)
    assert first.emails.failed == 1 and victim not in recorder.by_recipient()

    # the provider reports a hard bounce for the address before the next run
    action = apply_event(
        ctx.store, MailEvent("smtp", EventKind.BOUNCED, victim.upper(), "evt-1", hard=True), 3, NOW
    )
    assert action == "suppressed"
    del recorder.refuse[victim]
    second = run(ctx)
    assert victim not in recorder.by_recipient()
    rows = [r for eid in range(1, 10) for r in _rows(ctx, eid) if r["email"] == victim]
    assert rows and rows[-1]["state"] == DeliveryState.FAILED
    assert "suppressed" in rows[-1]["error"] and second.emails.sent == 0


def _rows(ctx: Any, edition_id: int) -> list[dict[str, Any]]:
    try:
        return ctx.store.deliveries(edition_id)
    except Exception:
        return []


def test_suppressed_address_gets_no_new_edition(tmp_path: Path, make_context: Any) -> None:
    ctx = make_context(settings_for(write_config(tmp_path)))
    import csv

    from tests.conftest import SAMPLE

    with (SAMPLE / "subscribers.csv").open(encoding="utf-8") as fh:
        emails = [row["email"] for row in csv.DictReader(fh)]
    apply_event(ctx.store, MailEvent("x", EventKind.COMPLAINED, emails[3], "e"), 3, NOW)
    report = run(ctx)
    assert report.emails.sent == len(emails) - 1
    outbox = tmp_path / "var" / "outbox" / "mail"
    written = {
        p.read_bytes().split(b"\r\nTo: ")[1].split(b"\r\n")[0] for p in outbox.rglob("*.eml")
    }
    assert not any(emails[3].encode() in w for w in written)
