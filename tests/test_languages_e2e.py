"""Every reader in their own language (issue 15), end to end on the sample newsroom.

``distributor run`` on the repository's own configuration (``config/distributor.toml``,
what ``make run`` does), into the file outbox, with the clock pinned.  The sample has
stories in every language its readers speak (en, ar, ja, es, fr, de, pt-BR): every
digest is led by, and titled with, a story in the reader's language, and none of its
interface is left in English.
"""

from __future__ import annotations

import csv
import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path

from lxml import html as lxml_html

from distributor.selection import normalize_language, speaks
from tests.conftest import ROOT, SAMPLE, pinned_now
from tests.test_cli import cli

#: interface strings that must not appear in English in another language's digest
ENGLISH = (
    "Read more",
    "Unsubscribe",
    "Manage preferences",
    "Top story",
    "More stories",
    "In other languages",
    "Share",
)


def _readers() -> dict[str, str]:
    """The sample's subscribers: address -> language."""
    with (SAMPLE / "subscribers.csv").open(encoding="utf-8", newline="") as fh:
        return {row["email"]: normalize_language(row["language"]) for row in csv.DictReader(fh)}


def _digests(root: Path) -> dict[str, EmailMessage]:
    """The outbox's messages by recipient address."""
    out = {}
    for path in sorted(root.rglob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(msg, EmailMessage)
        out[parseaddr(str(msg["To"]))[1]] = msg
    return out


def test_every_sample_reader_gets_a_digest_led_and_titled_in_their_language(
    tmp_path: Path,
) -> None:
    out = cli(
        "run",
        "--json",
        cwd=ROOT,
        env={"DISTRIBUTOR_DATA_DIR": str(tmp_path / "var"), **pinned_now()},
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True, report["errors"]
    readers = _readers()
    # every language a reader speaks, the sample publishes in
    assert set(readers.values()) == {"en", "ar", "ja", "es", "fr", "de", "pt-BR"}
    digests = _digests(tmp_path / "var" / "outbox" / "mail")
    assert set(digests) == set(readers), "one digest per reader"
    leads: dict[str, str] = {}
    for address, lang in readers.items():
        msg = digests[address]
        assert str(msg["Content-Language"]) == lang, address
        part = msg.get_body(("html",))
        assert part is not None
        body = part.get_content()
        doc = lxml_html.document_fromstring(body)
        assert doc.get("lang") == lang, address
        headings = doc.xpath("//h2")
        assert doc.xpath("//h1") and headings, "the digest has real headings"
        lead = headings[0]
        lead_lang = lead.xpath("ancestor::td[@lang][1]/@lang")[0]
        assert speaks(lang, lead_lang), f"{address} ({lang}): led by a {lead_lang} story"
        title = lead.text_content().strip()
        assert title and title in str(msg["Subject"]), f"{address}: {msg['Subject']!r}"
        leads[address] = title
        # every story block carries its own language, direction and alignment
        for h2 in headings:
            td = h2.xpath("ancestor::td[@lang][1]")[0]
            side = "right" if td.get("dir") == "rtl" else "left"
            assert td.get("align") == side and f"text-align:{side}" in td.get("style")
        if lang != "en":
            text = msg.get_body(("plain",))
            assert text is not None
            for english in ENGLISH:
                assert f">{english}<" not in body, f"{lang}: {english!r} left in English"
                assert f"{english}:" not in text.get_content(), f"{lang}: {english!r} in text"
    # the de and pt-BR readers are led by the sample's own German and Brazilian stories
    assert leads["lena.schmidt@example.org"].startswith("Vier Staaten unterzeichnen")
    assert leads["joao.silva@example.com"].startswith("Quatro países assinam")
