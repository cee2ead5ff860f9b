"""Tables fit the terminal down to 40 columns (``cli/tables.py``): a wide table wraps its
cells, and when even its words do not fit side by side it becomes one record per row
(``header: value``).  At 40, 60, 80 and 120 columns every column's header and every
value is there whole, nothing is cut to ``…`` and no line is wider than the terminal;
``--json`` is unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.table import Table

from distributor.cli import main
from distributor.cli.app import print_report
from distributor.cli.tables import LONG_WORD, fit
from distributor.cli.terminal import SafeConsole
from distributor.report import EditionReport, RunReport
from tests.conftest import NOW, pinned_now, write_config

WIDTHS = (40, 60, 80, 120)

HISTORY = {
    "id": "17",
    "list": "daily",
    "key": "2026-11-28",
    "language": "pt-BR",
    "recipients": "24000",
    "sent": "23990",
    "failed": "3",
    "unknown": "1",
    "pending": "6",
    "bounced": "12",
    "complained": "0",
    "unsubscribed": "4",
}
SCHEDULE = {
    "job": "daily",
    "schedule": "0 7 * * * (07:00 every day)",
    "zone": "America/Argentina/Buenos_Aires",
    "next run (UTC)": "2026-11-29 10:00",
    "next run (local)": "2026-11-29 07:00",
    "last slot": "2026-11-28 07:00 sent to 24 readers",
}


def _render(table: Table, width: int) -> str:
    console = SafeConsole(width=width, record=True)
    console.print(fit(table))
    return console.export_text()


def _table(title: str, row: dict[str, str]) -> Table:
    table = Table(title=title, header_style="bold")
    for header in row:
        table.add_column(header, justify="right" if row[header].isdigit() else "left")
    table.add_row(*row.values())
    table.add_row(*(v if not v.isdigit() else str(int(v) + 1) for v in row.values()))
    return table


def assert_whole(text: str, headers: list[str], values: list[str], width: int) -> None:
    """Every word of every header and value is in ``text`` unbroken (a word longer than
    ``LONG_WORD`` may fold: its start is there); nothing cut, nothing wider."""
    words = set(text.split())
    for header in headers:
        for word in header.split():
            assert word in words or f"{word}:" in words, (word, text)
    for value in values:
        for word in value.split():
            if len(word) <= LONG_WORD:
                assert word in words, (word, text)
            else:  # a longer word (a URL, a long time zone) may fold in its column
                assert word[:LONG_WORD] in text, (word, text)
                cut = next(n for n in range(len(word), LONG_WORD - 1, -1) if word[:n] in text)
                assert cut == len(word) or word[cut:] in words, (word, text)  # the rest below
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= width, text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("row", [HISTORY, SCHEDULE], ids=["history", "schedule"])
def test_every_column_is_there_at_every_width(row: dict[str, str], width: int) -> None:
    text = _render(_table("t", row), width)
    assert_whole(text, list(row), list(row.values()), width)
    for value in (v for v in row.values() if v.isdigit()):  # both rows
        assert str(int(value) + 1) in text.split()


def test_a_wide_table_is_records_when_narrow_and_columns_when_wide() -> None:
    narrow = _render(_table("sent editions", HISTORY), 40)
    assert re.search(r"^recipients: +24000 *$", narrow, re.M), narrow
    assert re.search(r"^unsubscribed: 4 *$", narrow, re.M), narrow
    assert narrow.splitlines()[0].strip() == "sent editions"
    wide = _render(_table("sent editions", HISTORY), 120)
    header = next(line for line in wide.splitlines() if "recipients" in line)
    assert all(h in header for h in HISTORY)  # one header line, every column on it


def test_a_long_word_folds_inside_its_column_instead_of_dropping_others() -> None:
    url = "https://news.example/en/" + "x" * 80
    table = Table("network", "clicks", "url")
    table.add_row("bluesky", "12", url)
    for width in (40, 60):
        text = _render(table, width)
        words = {w.rstrip(":") for w in text.split()}  # a table's header, or a record's
        assert {"network", "clicks", "url"} <= words
        assert "bluesky" in text.split() and "12" in text.split()
        assert url in "".join(text.split())  # folded in its column, every character kept
        assert max(cell_len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_run_report_fits(width: int) -> None:
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    report.editions = [
        EditionReport("daily", "2026-11-28", "ar", 7, 3, segment="economy+world", sent=3)
    ]
    console = SafeConsole(width=width, record=True)
    print_report(report, console)
    text = console.export_text()
    headers = ["list", "edition", "lang", "stories", "to", "sent", "failed", "unknown"]
    assert_whole(text, [*headers, "pending"], ["daily", "2026-11-28", "(economy+world)"], width)


# ----------------------------------------------------------- through the CLI
def _cli(config: Path, width: int | None, *args: str) -> str:
    env = {"DISTRIBUTOR_DATA_DIR": None, "DISTRIBUTOR_DATABASE_URL": None, **pinned_now()}
    if width is not None:
        env["COLUMNS"] = str(width)
    result = CliRunner(env=env).invoke(main, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, social="")


@pytest.mark.parametrize("width", WIDTHS)
def test_stories_fetch_and_providers_check_fit(config: Path, width: int) -> None:
    fetched = _cli(config, width, "stories", "fetch")
    assert_whole(
        fetched,
        ["source", "kind", "fetched", "new", "updated", "result"],
        ["meridian", "feed", "24", "ok"],
        width,
    )
    checked = _cli(config, width, "providers", "check")
    assert_whole(checked, ["name", "provider", "status", "detail"], ["main", "file", "ok"], width)
    assert "writes" in checked.split()  # the detail, wrapped if it must
    listed = _cli(config, width, "stories", "list", "--limit", "3")
    assert_whole(
        listed, ["published", "lang", "status", "source", "title", "id"], ["meridian"], width
    )


def test_json_is_not_a_table(config: Path) -> None:
    fetched = json.loads(_cli(config, 40, "stories", "fetch", "--json"))
    assert set(fetched) == {"sources", "stories_fetched", "warnings", "errors", "ok"}
    assert fetched["sources"][0]["name"] == "meridian"
    checked = json.loads(_cli(config, 40, "providers", "check", "--json"))
    assert checked == {
        "providers": [
            {
                "name": "main",
                "provider": "file",
                "ok": True,
                "detail": checked["providers"][0]["detail"],
            }
        ]
    }
    assert json.loads(_cli(config, 40, "providers", "check", "--json")) == json.loads(
        _cli(config, 200, "providers", "check", "--json")
    )


def test_the_sample_run_reports_editions_are_columns_at_80() -> None:
    # `make run` at 80 columns: one space between columns rather than a record per edition
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    report.editions = [
        EditionReport("daily", "2026-11-28", "ja", 5, 1, segment="culture+science", sent=1),
        EditionReport("daily", "2026-11-28", "en", 6, 4, sent=4),
    ]
    console = SafeConsole(width=80, record=True)
    print_report(report, console)
    text = console.export_text()
    assert "edition:" not in text  # not the record layout
    row = next(line for line in text.splitlines() if "(culture+science)" in line)
    assert (
        row.split() == ["daily", "2026-11-28", "ja", "(culture+science)", "5", "1", "1"] + ["0"] * 3
    )
    assert max(cell_len(line) for line in text.splitlines()) <= 80
