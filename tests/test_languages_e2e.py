"""Every reader in their own language (issue 15), end to end on the sample newsroom.

The sample's Arabic, Japanese, Spanish and French readers have stories in their
language; its German and Brazilian readers get a German and a Portuguese version of
the river treaty story here (the sample feed itself has none).  Every digest is led
by, and titled with, a story in the reader's language, and none of its interface is
left in English.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from distributor.pipeline import run
from distributor.selection import speaks
from tests.conftest import SAMPLE, settings_for, write_config

EXTRA = """
  <entry xml:lang="de">
    <id>urn:meridian:marel-river-treaty:de</id>
    <title>Vier Länder unterzeichnen einen Vertrag über das Wasser des Marel</title>
    <link rel="alternate" href="https://news.example/de/marel-river-treaty"/>
    <link rel="alternate" hreflang="en" href="https://news.example/en/marel-river-treaty"/>
    <published>2026-11-28T05:40:00Z</published>
    <category term="world"/>
    <summary>Die vier Anrainerstaaten teilen das Wasser des Marel in trockenen Jahren.</summary>
  </entry>
  <entry xml:lang="pt-BR">
    <id>urn:meridian:marel-river-treaty:pt-BR</id>
    <title>Quatro países assinam tratado para dividir a água do rio Marel</title>
    <link rel="alternate" href="https://news.example/pt-br/marel-river-treaty"/>
    <link rel="alternate" hreflang="en" href="https://news.example/en/marel-river-treaty"/>
    <published>2026-11-28T05:45:00Z</published>
    <category term="world"/>
    <summary>Os quatro países do Marel dividem a água do rio nos anos secos.</summary>
  </entry>
"""

#: interface strings that must not appear in English in another language's digest
ENGLISH = ("Read more", "Unsubscribe", "Manage preferences", "Top story", "More stories")


def _feed(tmp_path: Path) -> Path:
    text = (SAMPLE / "newsroom.atom.xml").read_text(encoding="utf-8")
    head, tail = text.rsplit("</feed>", 1)
    path = tmp_path / "feed.xml"
    path.write_text(head + EXTRA + "</feed>" + tail, encoding="utf-8")
    return path


def _digests(root: Path) -> list[EmailMessage]:
    out = []
    for path in sorted(root.rglob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def test_every_reader_gets_a_digest_led_and_titled_in_their_language(
    tmp_path: Path, make_context: Any
) -> None:
    ctx = make_context(settings_for(write_config(tmp_path, feed=_feed(tmp_path))))
    report = run(ctx)
    assert report.ok, report.errors
    digests = _digests(tmp_path / "var/outbox/mail")
    seen: set[str] = set()
    for msg in digests:
        lang = str(msg["Content-Language"])
        seen.add(lang)
        part = msg.get_body(("html",))
        assert part is not None
        doc = lxml_html.document_fromstring(part.get_content())
        headings = doc.xpath("//h2")
        assert doc.xpath("//h1") and headings, "the digest has real headings"
        lead = headings[0]
        lead_lang = lead.xpath("ancestor::td[@lang][1]/@lang")[0]
        assert speaks(lang, lead_lang), f"{lang} digest led by a {lead_lang} story"
        assert lead.text_content().strip() in str(msg["Subject"])
        # every story block carries its own language, direction and alignment
        for h2 in headings:
            td = h2.xpath("ancestor::td[@lang][1]")[0]
            side = "right" if td.get("dir") == "rtl" else "left"
            assert td.get("align") == side and f"text-align:{side}" in td.get("style")
        if lang != "en":
            body = part.get_content()
            text = msg.get_body(("plain",))
            assert text is not None
            for english in ENGLISH:
                assert f">{english}<" not in body, f"{lang}: {english!r} left in English"
                assert f"{english}:" not in text.get_content(), f"{lang}: {english!r} in text"
    assert {"ar", "ja", "es", "fr", "de", "pt-BR", "en"} <= seen
