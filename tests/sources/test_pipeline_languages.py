"""A run on the sample newsroom: readers in languages it does not publish join the nearest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributor.pipeline import edition_languages, list_default_language, run
from tests.conftest import settings_for, write_config


def test_unpublished_reader_languages_get_the_nearest_edition_once(
    tmp_path: Path, make_context: Any
) -> None:
    subscribers = tmp_path / "subs.csv"
    subscribers.write_text(
        "email,name,language,timezone,topics\n"
        "xx@example.com,X,xx,,\n"
        "zh@example.com,Z,zh-Hant-TW,,\n"
        "pt@example.com,P,pt-PT,,\n"
        "br@example.com,B,pt-BR,,\n"
        "fr@example.com,F,fr-CA,,\n",
        encoding="utf-8",
    )
    settings = settings_for(write_config(tmp_path, subscribers=subscribers, social=""))
    cfg = settings.lists["daily"]
    assert list_default_language(settings, cfg) == "en"
    assert {"en", "fr", "pt", "pt-BR"} <= set(edition_languages(settings, cfg))
    ctx = make_context(settings)
    report = run(ctx)
    assert report.ok, report.errors
    assert report.emails.sent == 5
    made = sorted(p.name for p in (tmp_path / "var/archive/daily").rglob("*.html"))
    # xx and zh-Hant-TW: the list's default; pt-PT: pt; fr-CA: fr; no edition per odd tag
    assert made == ["en.html", "fr.html", "pt-BR.html", "pt.html"], made
    en = next((tmp_path / "var/archive/daily").rglob("en.html")).read_text(encoding="utf-8")
    assert 'lang="en"' in en
    again = run(ctx)
    assert again.ok, again.errors
    assert again.emails.sent == 0  # the same variants, so nothing is sent twice
