"""``editors list|remove|role`` and ``tokens list|revoke`` through click's runner on a real
database; a removed editor's session and a revoked token stop working at once."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from distributor.cli import main
from distributor.store import Store
from distributor.web import create_app
from tests.conftest import settings_for, write_config
from tests.web.conftest import csrf

PASSWORD = "correct horse battery"


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--config", str(config), *args], env={"DISTRIBUTOR_EDITOR_PASSWORD": PASSWORD}
    )


def test_editors_list_role_remove(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    assert _cli(config, "editors", "add", "Desk@News.example", "--role", "admin").exit_code == 0
    assert _cli(config, "editors", "add", "intern@news.example").exit_code == 0

    listed = json.loads(_cli(config, "editors", "list", "--json").stdout)
    assert [(e["email"], e["role"], e["last_login_at"]) for e in listed] == [
        ("desk@news.example", "admin", None),
        ("intern@news.example", "editor", None),
    ]
    assert "password" not in json.dumps(listed)
    table = _cli(config, "editors", "list").stdout
    assert "desk@news.example" in table and "never" in table

    out = _cli(config, "editors", "role", "intern@news.example", "admin")
    assert out.exit_code == 0 and out.stdout.strip() == "intern@news.example: editor -> admin"
    out = _cli(config, "editors", "role", "intern@news.example", "admin")
    assert out.stdout.strip() == "intern@news.example: already admin"
    assert _cli(config, "editors", "role", "x@news.example", "root").exit_code == 2  # bad usage

    out = _cli(config, "editors", "remove", "desk@news.example")
    assert out.exit_code == 0 and out.stdout.strip() == "desk@news.example: removed (admin)"
    # the last admin stays: neither removed nor demoted
    for args in (("remove", "intern@news.example"), ("role", "intern@news.example", "editor")):
        out = _cli(config, "editors", *args)
        assert out.exit_code == 1
        assert out.stderr.strip() == (
            "distributor: error: intern@news.example is the last admin; make another admin first"
        )
    out = _cli(config, "editors", "remove", "nobody@news.example")
    assert (out.exit_code, out.stderr.strip()) == (
        1,
        "distributor: error: no editor 'nobody@news.example'",
    )


def test_a_removed_editor_is_logged_out(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    _cli(config, "editors", "add", "boss@news.example", "--role", "admin")
    _cli(config, "editors", "add", "gone@news.example")
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        client = create_app(settings, store).test_client()
        login = client.post(
            "/editor/login",
            data={"email": "gone@news.example", "password": PASSWORD, "csrf_token": csrf(client)},
        )
        assert login.status_code == 302
        assert client.get("/editor/stories").status_code == 200
        assert _cli(config, "editors", "remove", "gone@news.example").exit_code == 0
        after = client.get("/editor/stories")
        assert after.status_code == 302 and "/editor/login" in after.headers["Location"]
    finally:
        store.close()


def test_tokens_list_and_revoke(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    token = _cli(config, "tokens", "create", "--name", "cms").stdout.strip()
    _cli(config, "tokens", "create", "--name", "app")
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        api = create_app(settings, store).test_client()
        auth = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/editions", headers=auth).status_code == 200

        listed = json.loads(_cli(config, "tokens", "list", "--json").stdout)
        assert [t["name"] for t in listed] == ["app", "cms"]
        cms = next(t for t in listed if t["name"] == "cms")
        assert cms["last_used_at"] is not None  # the call above
        assert token not in json.dumps(listed)
        assert "cms" in _cli(config, "tokens", "list").stdout

        out = _cli(config, "tokens", "revoke", "cms")
        assert out.exit_code == 0 and out.stdout.strip() == "token 'cms' revoked"
        assert api.get("/api/editions", headers=auth).status_code == 401
        assert [t["name"] for t in json.loads(_cli(config, "tokens", "list", "--json").stdout)] == [
            "app"
        ]
        out = _cli(config, "tokens", "revoke", "cms")
        assert (out.exit_code, out.stderr.strip()) == (
            1,
            "distributor: error: no API token named 'cms'",
        )
    finally:
        store.close()
