"""The embedded default: file outboxes, cards, dry runs and crash recovery."""

from __future__ import annotations

import csv
import json
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from PIL import Image

from distributor.models import DeliveryState
from distributor.pipeline import run
from distributor.store.schema import deliveries, posts
from tests.conftest import SAMPLE, settings_for, write_config


def subscriber_languages() -> dict[str, str]:
    with (SAMPLE / "subscribers.csv").open(encoding="utf-8") as fh:
        return {row["email"]: row["language"] for row in csv.DictReader(fh)}


def test_file_outboxes(tmp_path: Path, make_context: Any) -> None:
    ctx = make_context(settings_for(write_config(tmp_path)))
    report = run(ctx)
    assert report.ok, report.errors

    emls = sorted((tmp_path / "var/outbox/mail").rglob("*.eml"))
    langs = subscriber_languages()
    assert len(emls) == len(langs) == report.emails.sent
    seen = {}
    for path in emls:
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["Message-ID"].endswith("@news.example>")
        address = msg["To"].addresses[0].addr_spec
        seen[address] = msg["Content-Language"]
        assert path.parent.name == msg["Content-Language"]
        assert all(len(line) <= 998 for line in path.read_bytes().split(b"\r\n"))
    assert seen == {a: lang for a, lang in langs.items()}

    jsons = sorted((tmp_path / "var/outbox/social/outbox").glob("*.json"))
    assert len(jsons) == report.posts.sent > 0
    for path in jsons:
        post = json.loads(path.read_text(encoding="utf-8"))
        assert post["url"] in post["text"]
        assert "utm_source=outbox" in post["url"]
        assert len(post["text"]) <= 500
        assert "DRAFT" not in post["text"] and "EMBARGOED" not in post["text"]
        with Image.open(post["card"]) as card:
            assert card.size == (1200, 630) and card.format in ("PNG", "JPEG")
        assert post["alt_text"]

    cards = list((tmp_path / "var/cards").glob("*-og.*"))  # one card set per story
    assert len(cards) == report.cards_made > 0

    again = run(ctx)
    assert again.emails.sent == again.posts.sent == again.cards_made == 0
    assert again.cards_cached == report.cards_made
    assert len(list((tmp_path / "var/outbox/mail").rglob("*.eml"))) == len(emls)


def test_dry_run_delivers_and_records_nothing(tmp_path: Path, make_context: Any) -> None:
    ctx = make_context(settings_for(write_config(tmp_path)))
    report = run(ctx, dry_run=True)
    assert report.dry_run and report.emails.sent == 0
    assert report.emails.skipped == len(subscriber_languages())
    assert report.editions and all(e.stories > 0 for e in report.editions)
    assert not (tmp_path / "var/outbox").exists()
    with ctx.store.engine.connect() as conn:
        assert conn.execute(deliveries.select()).first() is None
        assert conn.execute(posts.select()).first() is None
    # the real run afterwards still sends everything
    assert run(ctx).emails.sent == len(subscriber_languages())


def test_crash_with_file_outbox_is_resent_safely(tmp_path: Path, make_context: Any) -> None:
    """Rows left in 'sending' by a crash are resent: file names are the ledger keys."""
    ctx = make_context(settings_for(write_config(tmp_path)))
    first = run(ctx)
    with ctx.store.engine.begin() as conn:
        conn.execute(deliveries.update().values(state=DeliveryState.SENDING.value))
    for eml in (tmp_path / "var/outbox/mail").rglob("*.eml"):
        eml.unlink()
    again = run(ctx)
    assert again.emails.sent == first.emails.sent
    assert any("interrupted by an earlier crash were resent" in n for n in again.notes)
    assert len(list((tmp_path / "var/outbox/mail").rglob("*.eml"))) == first.emails.sent


def test_unknown_list_is_a_clear_error(tmp_path: Path, make_context: Any) -> None:
    import pytest

    from distributor.errors import ConfigError

    ctx = make_context(settings_for(write_config(tmp_path)))
    with pytest.raises(ConfigError, match="no list named 'weekly'"):
        run(ctx, list_names=["weekly"])


def test_broken_source_does_not_stop_the_run(tmp_path: Path, make_context: Any) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text("<html>oops</html>")
    ctx = make_context(settings_for(write_config(tmp_path, feed=bad)))
    report = run(ctx)
    assert report.sources[0].error and "not a readable" in report.sources[0].error
    assert [p.stage for p in report.errors] == ["source"]
    assert report.emails.sent == 0 and "list daily: no new stories; no edition made" in report.notes


def test_bad_subscriber_rows_are_reported_and_skipped(tmp_path: Path, make_context: Any) -> None:
    subs = tmp_path / "subs.csv"
    subs.write_text(
        "email,name,language,timezone,topics\n"
        "ok@example.com,Ok,en,,\n"
        "not-an-address,Bad,en,,\n"
        "ok@example.com,Again,en,,\n"
        "tz@example.com,Tz,en,Mars/Base,\n"
        'evil@example.com,"Eve\r\nBcc: victim@example.org",en,,\n'
    )
    ctx = make_context(settings_for(write_config(tmp_path, subscribers=subs)))
    report = run(ctx)
    reasons = [w.cause for w in report.warnings if w.stage == "subscribers"]
    assert len(reasons) == 3
    assert any("invalid address" in r for r in reasons)
    assert any("duplicate" in r for r in reasons)
    assert any("time zone" in r for r in reasons)
    assert report.ok and report.emails.sent == 2
    evil = next((tmp_path / "var/outbox/mail").rglob("2.eml")).read_bytes()
    headers = evil.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers  # the name's CR/LF never opened a header


def test_claims_are_atomic_across_processes(tmp_path: Path, make_context: Any) -> None:
    """Several processes claiming one SQLite ledger at once never get the same row."""
    import subprocess
    import sys

    from distributor.pipeline import fetch_sources, select, sync_subscribers
    from distributor.report import RunReport
    from tests.conftest import NOW

    ctx = make_context(settings_for(write_config(tmp_path)))
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    fetch_sources(ctx, report)
    cfg = ctx.settings.lists["daily"]
    sync_subscribers(ctx, "daily", cfg, report)
    # one edition with many recipients: the sample's subscribers, re-added 40 times over
    from distributor.models import Subscriber

    many = [
        Subscriber(id=0, email=f"r{i}@example.com", name="", language="en") for i in range(2000)
    ]
    ctx.store.add_subscribers("daily", many, NOW)
    plan = next(p for p in select(ctx, "daily", cfg) if p.language == "en")
    edition = ctx.store.create_edition(
        list_name="daily",
        key="2026-11-28",
        language="en",
        stories=plan.stories,
        recipients=plan.recipients,
        now=NOW,
    )
    go = tmp_path / "go"
    script = (
        "import sys, json, time, pathlib\n"
        "from datetime import datetime\n"
        "from distributor.store import Store\n"
        "store = Store.open(sys.argv[1])\n"
        "ed = store.edition(int(sys.argv[2]))\n"
        "while not pathlib.Path(sys.argv[3]).exists():\n"
        "    time.sleep(0.01)\n"
        "got = []\n"
        "now = datetime.fromisoformat(sys.argv[4])\n"
        "while rows := store.claim_deliveries(ed, 3, now):\n"
        "    got += [r.id for r in rows]\n"
        "print(json.dumps(got))\n"
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                ctx.settings.database_url,
                str(edition.id),
                str(go),
                NOW.isoformat(),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(1.5)  # all three opened the store and wait: start them together
    go.touch()
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == len(plan.recipients)
    assert sum(1 for r in results if r) >= 2, "the processes did not actually overlap"
