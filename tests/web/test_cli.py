"""``distributor subscribers|editions|editors|tokens`` through click's runner on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner, Result
from werkzeug.security import check_password_hash

from distributor.cli import main
from distributor.store import Store
from distributor.store.web import WebStore, email_hash
from tests.conftest import NOW, pinned_now, settings_for, write_config


def _cli(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        main,
        ["--config", str(config), *args],
        input=input,
        env={"DISTRIBUTOR_EDITOR_PASSWORD": None, **pinned_now()},
    )


def _status(config: Path, email: str) -> str:
    out = _cli(config, "subscribers", "list", "--search", email, "--json")
    rows = json.loads(out.stdout)
    assert len(rows) == 1, rows
    return str(rows[0]["status"])


def test_add_list_remove_and_statuses(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = _cli(
        config,
        "subscribers",
        "add",
        "Ana@Example.org",
        "--language",
        "pt_br",
        "--topic",
        "world",
        "--frequency",
        "weekly",
        "--json",
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["outcome"] == "added"
    rows = json.loads(_cli(config, "subscribers", "list", "--json").stdout)
    assert rows[0]["email"] == "ana@example.org"
    assert (rows[0]["language"], rows[0]["frequency"], rows[0]["topics"], rows[0]["status"]) == (
        "pt-BR",
        "weekly",
        ["world"],
        "subscribed",
    )
    # again: left as it is
    again = _cli(config, "subscribers", "add", "ana@example.org", "--json")
    assert json.loads(again.stdout)["outcome"] == "exists"

    assert _cli(config, "subscribers", "remove", "ana@example.org").exit_code == 0
    assert _status(config, "ana@example.org") == "unsubscribed"
    # never reactivated by add
    back = _cli(config, "subscribers", "add", "ana@example.org")
    assert back.exit_code == 1 and "unsubscribed" in back.stdout
    assert _status(config, "ana@example.org") == "unsubscribed"

    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        store.suppress("bob@example.org", "bounce: 550", NOW)
    finally:
        store.close()
    refused = _cli(config, "subscribers", "add", "bob@example.org", "--json")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["outcome"] == "suppressed"

    bad = _cli(config, "subscribers", "add", "not-an-address")
    assert bad.exit_code == 2 and "EMAIL" in bad.output
    table = _cli(config, "subscribers", "list", "--status", "unsubscribed")
    assert "subscribers (1)" in table.stdout and "pt-BR" in table.stdout


def test_import_validates_dedupes_and_never_reactivates(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    _cli(config, "subscribers", "add", "gone@example.org")
    _cli(config, "subscribers", "remove", "gone@example.org")
    _cli(config, "subscribers", "add", "kept@example.org")
    _cli(config, "subscribers", "forget", "forgotten@example.org", "--yes")
    path = tmp_path / "in.csv"
    path.write_text(
        "email,name,language,timezone,topics\n"
        "new@example.org,New,fr,Europe/Paris,world;science\n"
        "NEW@example.org,Dup,,,\n"
        "broken@@example.org,,,,\n"
        "tz@example.org,,en,Mars/Base,\n"
        "gone@example.org,,,,\n"
        "kept@example.org,,,,\n"
        "forgotten@example.org,,,,\n",
        encoding="utf-8",
    )
    out = _cli(config, "subscribers", "import", str(path), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert (report["added"], report["kept"]) == (1, 1)
    reasons = {r["value"]: r["reason"] for r in report["rejected"]}
    assert reasons["NEW@example.org"] == "duplicate address"
    assert reasons["broken@@example.org"].startswith("invalid address")
    assert "time zone" in reasons["tz@example.org"]
    assert reasons["gone@example.org"].startswith("unsubscribed")
    assert reasons["forgotten@example.org"].startswith("suppressed")
    assert len(report["rejected"]) == 5
    assert _status(config, "gone@example.org") == "unsubscribed"
    text = _cli(config, "subscribers", "import", str(path))
    assert "rejected line 3: 'NEW@example.org': duplicate address" in text.stdout

    exported = _cli(config, "subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["email"]: r["status"] for r in rows} == {
        "gone@example.org": "unsubscribed",
        "kept@example.org": "subscribed",
        "new@example.org": "subscribed",
    }
    assert next(r for r in rows if r["email"] == "new@example.org")["topics"] == "world;science"


def test_forget_erases_personal_data_and_keeps_a_hash(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    _cli(
        config,
        "subscribers",
        "add",
        "erase@example.org",
        "--name",
        "Erin Example",
        "--timezone",
        "Europe/Oslo",
    )
    out = _cli(config, "subscribers", "forget", "erase@example.org", "--yes")
    assert out.exit_code == 0 and "erased" in out.stdout
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        with store.engine.connect() as conn:
            dump = "\n".join(
                str(tuple(r))
                for t in ("subscribers", "memberships", "suppressions", "deliveries")
                for r in conn.exec_driver_sql(f"select * from {t}")
            )
        assert "erase@example.org" not in dump and "Erin" not in dump and "Oslo" not in dump
        assert email_hash("erase@example.org") in dump
        assert WebStore(store).suppression_reason("ERASE@example.org") == "forgotten"
    finally:
        store.close()
    assert json.loads(_cli(config, "subscribers", "list", "--json").stdout) == []
    # the address can never be imported or added again by the newsroom
    assert _cli(config, "subscribers", "add", "erase@example.org").exit_code == 1


def test_editors_add_hashes_the_password_and_tokens_create(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = _cli(
        config,
        "editors",
        "add",
        "ed@news.example",
        "--role",
        "admin",
        input="a long password\na long password\n",
    )
    assert out.exit_code == 0, out.output
    short = _cli(config, "editors", "add", "ed2@news.example", input="short\nshort\n")
    assert short.exit_code == 2
    token = _cli(config, "tokens", "create", "--name", "cms", "--json")
    plain = json.loads(token.stdout)["token"]
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        web = WebStore(store)
        editor = web.editor_by_email("ed@news.example")
        assert editor is not None and editor.role == "admin"
        assert "a long password" not in editor.password_hash
        assert check_password_hash(editor.password_hash, "a long password")
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql("select token_hash from api_tokens").scalar_one()
        assert plain not in stored
        assert web.api_token_name(plain, NOW) == "cms"
        assert web.api_token_name(plain + "x", NOW) is None
    finally:
        store.close()


def test_editions_history_and_figures_after_a_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    run = CliRunner().invoke(main, ["--config", str(config), "run", "--json"])
    assert run.exit_code == 0, run.output
    rows = json.loads(_cli(config, "editions", "history", "--json").stdout)
    assert rows and all(r["recipients"] == r["sent"] for r in rows)
    assert sum(r["sent"] for r in rows) == 24
    one = json.loads(_cli(config, "editions", "figures", str(rows[0]["id"]), "--json").stdout)
    assert one["id"] == rows[0]["id"] and one["stories_list"][0]["title"]
    assert _cli(config, "editions", "figures", "999").exit_code == 1
    table = _cli(config, "editions", "history")
    assert "daily" in table.stdout
    # the run's edition is kept as an edition, sent
    listed = json.loads(_cli(config, "editions", "list", "--json").stdout)
    assert [e["state"] for e in listed["editions"]] == ["sent"]
    assert listed["editions"][0]["recipients"] == 24
