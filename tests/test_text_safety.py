"""Hostile text where it lands: terminal tables and lines, CSV exports, headers and posts.

Through the real doors: the CLI (click's runner, Rich tables), the dashboard's CSV
export (Flask test client), the importer reading the export back.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from distributor.cli import main
from distributor.cli.terminal import SafeConsole
from distributor.render.personal import header_safe
from distributor.subscribers import read_subscribers_csv
from distributor.text_safety import (
    csv_cell,
    strip_invisible,
    terminal_json,
    unescape_cell,
    visible,
)
from tests.conftest import NOW, pinned_now
from tests.sources.conftest import write_settings

HOSTILE_TITLES = [
    "[bold]Breaking[/bold] and [/oops] [link=https://evil.example]x[/link]",
    "Bell\x07 and \x1b[2J\x1b]0;owned\x07 clear",
    "Invoice \u202efdp.exe",
    "Zero\u200bwidth and back\rspace",
]


def runner() -> CliRunner:
    return CliRunner(
        env={
            "DISTRIBUTOR_DATA_DIR": None,
            "DISTRIBUTOR_DATABASE_URL": None,
            "COLUMNS": "400",  # Rich's width: one line per row
            **pinned_now(),
        }
    )


def hostile_feed(tmp_path: Path) -> Path:
    items = [
        {
            "id": f"urn:hostile:{i}",
            "url": f"https://news.example/h/{i}",
            "title": title,
            "content_text": "Body.",
            "date_published": (NOW - timedelta(hours=i + 1)).isoformat(),
        }
        for i, title in enumerate(HOSTILE_TITLES)
    ]
    feed = tmp_path / "hostile.json"
    feed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "[red]Hostile[/red] \x1b[31mfeed",
                "items": items,
            }
        ),
        encoding="utf-8",
    )
    write_settings(tmp_path, f'[sources.hostile]\nkind = "jsonfeed"\nurl = "{feed}"')
    return tmp_path / "distributor.toml"


def assert_literal(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "\r" not in output.replace("\r\n", "\n")
    assert "MarkupError" not in output and "Traceback" not in output


def test_stories_fetch_and_list_show_markup_and_controls_literally(tmp_path: Path) -> None:
    path = hostile_feed(tmp_path)
    fetched = runner().invoke(main, ["--config", str(path), "stories", "fetch"])
    assert fetched.exit_code == 0, fetched.output
    assert_literal(fetched.output)
    listed = runner().invoke(main, ["--config", str(path), "stories", "list"])
    assert listed.exit_code == 0, listed.output
    assert_literal(listed.output)
    assert HOSTILE_TITLES[0] in listed.output  # markup shown as written
    assert "Bell\\x07 and \\x1b[2J\\x1b]0;owned\\x07 clear" in listed.output
    assert "Invoice \\u202efdp.exe" in listed.output
    # JSON output keeps the exact values, and the controls and the override stay escapes
    as_json = runner().invoke(main, ["--config", str(path), "stories", "list", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert_literal(as_json.output)
    assert "Invoice \\u202efdp.exe" in as_json.output
    titles = {s["title"] for s in json.loads(as_json.output)}
    assert set(HOSTILE_TITLES[:3]) <= titles  # the fourth is cleaned when it is read


def test_subscribers_list_shows_a_hostile_name_literally(tmp_path: Path) -> None:
    path = hostile_feed(tmp_path)
    name = "[bold red]Mallory[/] \x1b[2J\x07 [/x]"
    added = runner().invoke(
        main,
        ["--config", str(path), "subscribers", "add", "m@example.com", "--name", name],
    )
    assert added.exit_code == 0, added.output
    listed = runner().invoke(main, ["--config", str(path), "subscribers", "list"])
    assert listed.exit_code == 0, listed.output
    assert_literal(listed.output)
    assert "[bold red]Mallory[/]" in listed.output and "\\x1b[2J" in listed.output


def test_one_line_errors_escape_controls() -> None:
    from distributor.cli.common import fail

    @__import__("click").command()
    def boom() -> None:
        fail("feed \x1b[2Jtitle\nBcc: x")

    out = CliRunner().invoke(boom, [])
    assert out.exit_code == 1
    assert out.output.count("\n") == 1 and "\x1b" not in out.output
    assert "\\x1b[2Jtitle\\nBcc: x" in out.output


def test_safe_console_never_parses_markup() -> None:
    buf = io.StringIO()
    console = SafeConsole(file=buf, width=120, force_terminal=True, color_system="truecolor")
    console.print("[/unbalanced] [bold]x[/bold] \x1b[31m", style="red")
    text = buf.getvalue()
    assert "[/unbalanced] [bold]x[/bold] \\x1b[31m" in text
    # Rich's own colour codes are there (style=), the title's ESC is not
    assert text.count("\x1b[") == 2  # the style's start and reset only


def test_terminal_json_writes_text_as_it_is_and_escapes_what_a_terminal_would_obey() -> None:
    data = {
        "ar": "قمة المناخ",
        "zh": "气候峰会",
        "hostile": "a\x1bb \x9b2J r\u202el zero\u200bwidth line\u2028sep nul\x00 tab\t",
        "astral": "emoji \U0001f600",
        "n": [1, None, True],
    }
    for indent in (2, None):
        text = terminal_json(data, indent=indent)
        assert json.loads(text) == data  # exactly the same value back
        assert "قمة المناخ" in text and "气候峰会" in text and "\U0001f600" in text
        for raw in ("\x1b", "\x9b", "\u202e", "\u200b", "\u2028", "\x00", "\t"):
            assert raw not in text
        assert "\\u009b" in text and "\\u202e" in text and "\\u200b" in text
    assert "\n" not in terminal_json(data, indent=None)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1bb", "a\\x1bb"),
        ("\x07\x00\x7f\x9b", "\\x07\\x00\\x7f\\x9b"),
        ("r\u202el", "r\\u202el"),
        ("tab\there", "tab\\there"),
        ("ok ünïcödé 漢字", "ok ünïcödé 漢字"),
    ],
)
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible("two\nlines", one_line=False) == "two\nlines"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Invoice \u202efdp.exe", "Invoice fdp.exe"),
        ("\u2067evil\u2069 subject", "evil subject"),
        ("pay\u200bpal", "paypal"),
        ("\ufeffBOM", "BOM"),
        ("a\u200e\u200fb\u061c", "ab"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs its non-joiner
        ("👩\u200d💻 coder", "👩\u200d💻 coder"),  # an emoji sequence keeps its joiner
        ("\u200dlead and trail\u200c", "lead and trail"),
        ("line\r\nBcc: x", "line Bcc: x"),
        ("Le\u00a0monde :", "Le\u00a0monde :"),  # a no-break space stays
    ],
)
def test_headers_drop_bidi_and_zero_width(raw: str, clean: str) -> None:
    assert header_safe(raw) == clean
    assert strip_invisible("plain") == "plain"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_cells(value: str, cell: str) -> None:
    assert csv_cell(value) == cell
    assert unescape_cell(cell) == value


def test_subscribers_export_escapes_formulas_and_reads_back(tmp_path: Path) -> None:
    path = hostile_feed(tmp_path)
    names = {
        "a@example.com": '=HYPERLINK("http://evil.example","click")',
        "-b@example.com": "@SUM(1+1)",
        "c@example.com": "+33 Paris",
    }
    for email, name in names.items():
        out = runner().invoke(
            main, ["--config", str(path), "subscribers", "add", "--name", name, "--", email]
        )
        assert out.exit_code == 0, out.output
    export = tmp_path / "out.csv"
    out = runner().invoke(main, ["--config", str(path), "subscribers", "export", "-o", str(export)])
    assert out.exit_code == 0, out.output
    with export.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@")), row
        assert not row[1].startswith(("=", "+", "-", "@")), row
    by_email = {unescape_cell(r[0]): r[1] for r in rows[1:]}
    assert by_email["-b@example.com"] == "'@SUM(1+1)"
    # the import gives back exactly what was exported
    good, rejected = read_subscribers_csv(export, default_language="en")
    assert rejected == []
    assert {s.email: s.name for s in good} == names


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("email,name\nz@example.com,Jos\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"\xff\xfe\x00\x01binary\x00\x00", "not UTF-8"),
        (("email,name\nz@example.com," + "x" * 200_000 + "\n").encode(), "not a readable CSV"),
    ],
    ids=["latin-1", "binary", "huge-field"],
)
def test_an_unreadable_subscribers_file_is_one_clear_error(
    tmp_path: Path, content: bytes, why: str
) -> None:
    from distributor.errors import ConfigError

    path = tmp_path / "subs.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=why):
        read_subscribers_csv(path, default_language="en")


def test_providers_check_shows_a_hostile_reply_literally(tmp_path: Path, httpserver: Any) -> None:
    from tests.conftest import write_config
    from tests.mail.fakes import CASES

    case = next(c for c in CASES if c.provider == "resend")
    httpserver.expect_request("/domains", method="GET").respond_with_json(
        {"message": "[/red] bad [bold]key\x1b[2J\x07"}, status=403
    )
    path = write_config(tmp_path, mail=case.toml(httpserver.url_for("").rstrip("/")))
    out = CliRunner().invoke(
        main, ["--config", str(path), "providers", "check"], env={**case.env, "COLUMNS": "400"}
    )
    assert out.exit_code == 1, out.output
    assert_literal(out.output)
    assert "FAILED" in out.output
    assert "[/red] bad [bold]key" in out.output


def test_a_latin_1_subscribers_file_is_one_error_and_the_list_still_goes(
    tmp_path: Path, make_context: Any
) -> None:
    from distributor.models import Subscriber
    from distributor.service import daily
    from tests.conftest import write_config as write_sample

    subs = tmp_path / "subs.csv"
    subs.write_bytes("email,name\nneu@example.com,Jos\xe9\n".encode("latin-1"))
    from tests.conftest import settings_for as settings_of

    ctx = make_context(settings_of(write_sample(tmp_path, subscribers=subs)))
    ctx.store.add_subscribers("daily", [Subscriber(0, "old@example.com", "Old", "en")], NOW)
    report = daily.run(ctx)
    errors = [p for p in report.errors if p.stage == "subscribers"]
    assert len(errors) == 1 and "not UTF-8" in errors[0].cause
    assert report.emails.sent >= 1  # the readers already on the list got the edition
