"""``distributor stories fetch|list|show|inspect``.

In-process through click's runner (a process costs seconds here); the one-line
error contract is also checked through a real process.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from distributor.cli import main
from tests.conftest import NOW, pinned_now
from tests.sources.conftest import CORPUS, FeedServer, write_settings
from tests.test_cli import cli as process


class Out:
    def __init__(self, result: Result) -> None:
        self.returncode = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr


def cli(*args: str, cwd: Path) -> Out:
    """Run the command in this process, without DISTRIBUTOR_* variables (paths are absolute),
    its clock pinned at the corpus's NOW (the corpus dates its stories around it)."""
    runner = CliRunner(
        env={"DISTRIBUTOR_DATA_DIR": None, "DISTRIBUTOR_DATABASE_URL": None, **pinned_now()}
    )
    return Out(runner.invoke(main, list(args)))


def config(tmp_path: Path, sources: str) -> Path:
    write_settings(tmp_path, sources)
    return tmp_path / "distributor.toml"


def test_fetch_list_show(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/atom", CORPUS / "atom.xml", etag='"1"')
    path = config(
        tmp_path,
        f'[sources.cronica]\nurl = "{served.url}"\n'
        f'[sources.down]\nurl = "{feeds.url("/gone")}"\n'
        f'[sources.lantern]\nkind = "jsonfeed"\nurl = "{CORPUS / "feed.json"}"',
    )
    out = cli("--config", str(path), "stories", "fetch", "--json", cwd=tmp_path)
    assert out.returncode == 3, out.stderr  # one source failed: the others were stored
    report = json.loads(out.stdout)
    by_name = {s["name"]: s for s in report["sources"]}
    assert by_name["cronica"]["new"] == 3 and by_name["lantern"]["new"] == 4
    assert "HTTP 500" in by_name["down"]["error"]

    out = cli("--config", str(path), "stories", "fetch", "--source", "cronica", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "not modified (304)" in out.stdout

    out = cli("--config", str(path), "stories", "list", "--lang", "pt", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    [pt] = json.loads(out.stdout)
    assert pt["id"] == "urn:cronica:puerto:pt" and pt["language"] == "pt-BR"
    assert pt["verdict"] == "published: can be selected" and pt["first_seen_at"]

    out = cli("--config", str(path), "stories", "list", cwd=tmp_path)
    assert "Borrador" in out.stdout and "draft" in out.stdout

    out = cli("--config", str(path), "stories", "show", "lantern-1", "--json", cwd=tmp_path)
    story = json.loads(out.stdout)
    assert story["title"] == "Le marché couvert rouvre" and story["editions"] == []
    assert story["translation_group"] == "t:market-reopens"

    out = cli("--config", str(path), "stories", "show", "nope", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == "distributor: error: no story with id 'nope'\n"

    out = cli("--config", str(path), "stories", "fetch", "--source", "nope", cwd=tmp_path)
    assert out.returncode == 1 and "no source named 'nope'" in out.stderr


def test_inspect_shows_stories_and_problems_and_stores_nothing(
    tmp_path: Path, feeds: FeedServer
) -> None:
    served = feeds.file("/dates.xml", CORPUS / "dates.xml")
    path = config(tmp_path, f'[sources.x]\nurl = "{CORPUS / "rss091.xml"}"')
    # the verdicts depend on now: cli() pins the clock at the corpus's, not the wall's
    out = cli("--config", str(path), "stories", "inspect", served.url, "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["kind"] == "feed"
    verdicts = {s["title"]: s["verdict"] for s in found["stories"]}
    assert verdicts["Normal"] == "published: can be selected"
    assert verdicts["Tomorrow"].startswith("scheduled: not selected before 2026-11-29")
    assert any("1970-01-01 is not plausible" in p for p in found["problems"])
    assert not (tmp_path / "var" / "distributor.db").exists()

    # a JSON Feed is recognized; the human output lists each story and the problems
    out = cli("--config", str(path), "stories", "inspect", str(CORPUS / "feed.json"), cwd=tmp_path)
    assert "read as jsonfeed: 4 stories" in out.stdout
    assert "verdict: draft: never selected" in out.stdout
    assert "no problems found" in out.stdout

    # a Markdown folder too
    out = cli("--config", str(path), "stories", "inspect", str(CORPUS / "md"), cwd=tmp_path)
    assert "read as markdown" in out.stdout and "bad front matter" in out.stdout


def test_inspect_errors_are_one_line(tmp_path: Path, feeds: FeedServer) -> None:
    page = feeds.file("/page", CORPUS / "html-page.html", content_type="text/html")
    path = config(tmp_path, f'[sources.x]\nurl = "{CORPUS / "rss091.xml"}"')
    out = process("--config", str(path), "stories", "inspect", page.url, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "is an HTML page, not a feed" in out.stderr
    api = feeds.file(
        "/api", (CORPUS / "api_page1.json").read_bytes(), content_type="application/json"
    )
    out = cli("--config", str(path), "stories", "inspect", api.url, cwd=tmp_path)
    assert out.returncode == 1 and "give --source NAME of an api source" in out.stderr


def test_a_process_runs_on_the_pinned_clock(tmp_path: Path) -> None:
    """DISTRIBUTOR_TEST_NOW moves "now" for a real process: the same story is scheduled
    on the corpus's date and published two days later, whatever the calendar says."""
    path = config(tmp_path, f'[sources.x]\nurl = "{CORPUS / "rss091.xml"}"')
    args = ("--config", str(path), "stories", "inspect", str(CORPUS / "dates.xml"), "--json")
    verdicts = {}
    for label, now in (("then", NOW), ("later", NOW + timedelta(days=2))):
        out = process(*args, cwd=tmp_path, env=pinned_now(now))
        assert out.returncode == 0, out.stderr
        verdicts[label] = {s["title"]: s["verdict"] for s in json.loads(out.stdout)["stories"]}
    assert verdicts["then"]["Tomorrow"].startswith("scheduled: not selected before 2026-11-29")
    assert verdicts["later"]["Tomorrow"] == "published: can be selected"
    refused = process(*args, cwd=tmp_path, env={"DISTRIBUTOR_TEST_NOW": NOW.isoformat()})
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "DISTRIBUTOR_TESTING=1" in refused.stderr
