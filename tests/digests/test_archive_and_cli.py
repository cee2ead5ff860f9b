"""The web archive of editions, and `distributor preview` / `distributor send` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from lxml import html as lxml_html

from distributor.cli import main
from distributor.pipeline import run
from distributor.render.compat import check_email_html
from distributor.tokens import Tokens
from tests.conftest import settings_for, write_config
from tests.digests.conftest import LANGUAGES, parse


def test_every_edition_has_an_archive_page(tmp_path: Path, make_context: Any) -> None:
    ctx = make_context(settings_for(write_config(tmp_path)))
    report = run(ctx)
    assert report.ok, report.errors
    archive = tmp_path / "var/archive"
    base = "https://news.example/newsletter/archive/"
    # edition pages (story pages live under stories/: tests/social/test_story_pages.py)
    pages = {
        str(p.relative_to(archive)): p
        for p in archive.rglob("*.html")
        if p.relative_to(archive).parts[0] != "stories"
    }
    linked = set()
    for eml in (tmp_path / "var/outbox/mail").rglob("*.eml"):
        msg = parse(eml.read_bytes())
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        view = re.search(r'href="(https://news\.example/newsletter/archive/[^"]+)"', html).group(1)  # type: ignore[union-attr]
        assert view in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        page = view.removeprefix(base)
        assert page.startswith(f"daily/2026-11-28/{msg['Content-Language']}")
        linked.add(page)
    # one page per edition (language, and reader segment where selection makes them),
    # each the "view in browser" target of its messages
    assert set(pages) == linked
    assert {e.language for e in report.editions} >= set(LANGUAGES)
    for name, path in pages.items():
        page = path.read_text(encoding="utf-8")
        doc = lxml_html.document_fromstring(page)
        lang = str(doc.get("lang"))

        def meta(attr: str, name: str, doc: Any = doc) -> str:
            found = doc.xpath(f"//meta[@{attr}='{name}']/@content")
            assert found, name
            return str(found[0])

        assert doc.get("lang") == lang and doc.get("dir") == ("rtl" if lang == "ar" else "ltr")
        assert meta("property", "og:url") == base + name
        assert meta("property", "og:type") == "article"
        assert meta("property", "og:site_name") == "Meridian World News"
        assert meta("property", "og:title").startswith("Meridian Daily · ")
        assert meta("property", "og:description")
        assert meta("property", "og:image").startswith("https://news.example/images/")
        assert meta("name", "twitter:card") == "summary_large_image"
        assert meta("name", "twitter:title") == meta("property", "og:title")
        assert meta("name", "twitter:image") == meta("property", "og:image")
        assert meta("property", "og:locale").startswith(lang.split("-")[0])
        # public: nobody's greeting, no signed link, no placeholder
        assert "/u/" not in page and "/p/" not in page and "DISTRIBUTOR" not in page
        assert doc.xpath("//a[contains(@href, 'news.example/')]")


def cli(tmp_path: Path, *args: str) -> Any:
    config = tmp_path / "distributor.toml"
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_preview_writes_exactly_what_would_be_sent(tmp_path: Path) -> None:
    write_config(tmp_path)
    out = tmp_path / "p.eml"
    result = cli(
        tmp_path,
        "preview",
        "--list",
        "daily",
        "--subscriber",
        "karim.mansour@example.org",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["origin"] == "next edition" and info["language"] == "ar"
    assert info["unsupported"] == [] and info["shortened"] is None
    msg = parse(out.read_bytes())
    assert msg["To"].addresses[0].addr_spec == "karim.mansour@example.org"
    assert msg["Subject"] == info["subject"]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'dir="rtl"' in html and "Karim" in html
    # nothing was recorded or delivered
    assert not (tmp_path / "var/outbox").exists()

    html_out = tmp_path / "p.html"
    result = cli(tmp_path, "preview", "--list", "daily", "--lang", "ja", "--out", str(html_out))
    assert result.exit_code == 0, result.output
    page = html_out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="ja"' in page and "続きを読む" in page
    assert check_email_html(page) == []
    assert "subject: 【Meridian Daily】" in result.output

    # after a run there is nothing new: the latest edition is shown
    result = cli(tmp_path, "run", "--json")
    assert result.exit_code == 0, result.output
    result = cli(tmp_path, "preview", "--list", "daily", "--lang", "es", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert (
        re.match(r"latest edition \d{4}-\d{2}-\d{2} ", info["origin"]) is not None
        or info["origin"] == "next edition"
    )
    assert Path(info["path"]).is_file() and info["language"] == "es"


def test_preview_errors_are_one_line(tmp_path: Path) -> None:
    write_config(tmp_path)
    result = cli(tmp_path, "preview", "--list", "weekly")
    assert result.exit_code == 1 and "no list named 'weekly'" in result.output
    result = cli(tmp_path, "preview", "--list", "daily", "--subscriber", "nobody@example.com")
    assert result.exit_code == 1 and "not a subscriber" in result.output
    result = cli(tmp_path, "preview", "--list", "daily", "--out", str(tmp_path / "x.pdf"))
    assert result.exit_code == 2 and ".html or .eml" in result.output


def test_send_one_real_test_message_over_smtp(tmp_path: Path, smtp_server: Any) -> None:
    controller, recorder = smtp_server
    write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"',
    )
    result = cli(
        tmp_path, "send", "--list", "daily", "--test-to", "editor@example.com", "--lang", "fr"
    )
    assert result.exit_code == 0, result.output
    assert "sent test message of daily" in result.output and "editor@example.com" in result.output
    assert len(recorder.messages) == 1
    envelope, msg = recorder.messages[0]
    assert envelope.rcpt_tos == ["editor@example.com"]
    assert envelope.mail_from == "digest@news.example"
    assert msg["To"] == "editor@example.com" and msg["Content-Language"] == "fr"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = re.search(r"/u/([\w.-]+)>", msg["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    settings = settings_for(tmp_path / "distributor.toml")
    subject = Tokens(settings.secret_key.get_secret_value()).read("unsubscribe", token)
    assert subject is not None and subject.subscriber_id == 0  # unsubscribes nobody
    assert "Lire la suite" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]

    # a refused recipient: non-zero exit, the reply in one line
    recorder.refuse["bad@example.com"] = "550 5.1.1 No such user"
    result = cli(tmp_path, "send", "--list", "daily", "--test-to", "bad@example.com", "--json")
    assert result.exit_code == 1
    assert "550 5.1.1 No such user" in json.loads(result.output)["error"]


def test_send_refuses_a_bad_address(tmp_path: Path) -> None:
    write_config(tmp_path)
    result = cli(tmp_path, "send", "--list", "daily", "--test-to", "not an address")
    assert result.exit_code == 2 and "--test-to" in result.output


def test_archive_names_keep_reader_segments_apart() -> None:
    from types import SimpleNamespace

    from distributor.render.digest import archive_name

    plain = SimpleNamespace(list_name="daily", key="2026-11-28", language="fr")
    topics = SimpleNamespace(
        list_name="daily", key="2026-11-28", language="fr", segment="World;Science"
    )
    assert archive_name(plain) == "daily/2026-11-28/fr.html"  # type: ignore[arg-type]
    assert archive_name(topics) == "daily/2026-11-28/fr-world-science.html"  # type: ignore[arg-type]
