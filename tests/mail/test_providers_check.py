"""``distributor providers check`` against local servers, and the docs/tests coverage rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from distributor.cli import main
from distributor.registry import MAIL_BACKENDS
from tests.conftest import ROOT, write_config
from tests.mail.fakes import CASES, ProviderCase

READS: dict[str, tuple[str, dict[str, Any]]] = {
    "mailgun": (
        "/v3/domains/mg.news.example",
        {"domain": {"name": "mg.news.example", "state": "active"}},
    ),
    "sendgrid": ("/v3/scopes", {"scopes": ["mail.send", "user.profile.read"]}),
    "postmark": ("/server", {"Name": "Meridian"}),
    "ses": (
        "/v2/email/account",
        {"SendingEnabled": True, "ProductionAccessEnabled": True, "SendQuota": {"MaxSendRate": 14}},
    ),
    "resend": ("/domains", {"data": [{"name": "news.example"}]}),
    "brevo": ("/v3/account", {"email": "ops@news.example"}),
}


def invoke(path: Path, env: dict[str, str]) -> Any:
    return CliRunner().invoke(
        main, ["--config", str(path), "providers", "check", "--json"], env=env
    )


@pytest.mark.parametrize("case", CASES, ids=[c.provider for c in CASES])
def test_check_ok_and_refused(case: ProviderCase, httpserver: HTTPServer, tmp_path: Path) -> None:
    endpoint, reply = READS[case.provider]
    httpserver.expect_oneshot_request(endpoint, method="GET").respond_with_json(reply)
    if case.provider == "postmark":
        httpserver.expect_oneshot_request(
            "/message-streams/broadcast", method="GET"
        ).respond_with_json({"ID": "broadcast", "MessageStreamType": "Broadcasts"})
    httpserver.expect_oneshot_request(endpoint, method="GET").respond_with_json(
        {"message": "bad key"}, status=401
    )
    path = write_config(tmp_path, mail=case.toml(httpserver.url_for("").rstrip("/")))
    ok = invoke(path, case.env)
    assert ok.exit_code == 0, ok.output
    rows = {r["name"]: r for r in json.loads(ok.output)["providers"]}
    assert rows["main"]["ok"] is True and rows["main"]["provider"] == case.provider
    refused = invoke(path, case.env)
    assert refused.exit_code == 1
    row = json.loads(refused.output)["providers"][0]
    assert row["ok"] is False and "refused" in row["detail"]


def test_check_smtp_with_tls_and_auth(smtp_tls_server: Any, tmp_path: Path) -> None:
    controller, _recorder, ca_file = smtp_tls_server
    mail = f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\nusername = "digest"\nca_file = "{ca_file}"\n'
    path = write_config(tmp_path, mail=mail)
    good = invoke(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"})
    assert good.exit_code == 0, good.output
    bad = invoke(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "wrong"})
    assert bad.exit_code == 1 and "refused the credentials" in bad.output


def test_every_registered_provider_has_docs_and_tests() -> None:
    guide = (ROOT / "docs" / "adding-a-provider.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tested = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    tested += (ROOT / "tests" / "mail" / "fakes.py").read_text(encoding="utf-8")
    for name in MAIL_BACKENDS:
        assert re.search(rf'provider = "{name}"', readme), (
            f"README has no configuration example for {name}"
        )
        assert f"`{name}`" in guide, f"docs/adding-a-provider.md does not list {name}"
        assert re.search(rf'provider = \\?"{name}\\?"|"{name}"', tested), (
            f"no test configures {name}"
        )


def test_postmark_check_refuses_a_transactional_stream(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    case = next(c for c in CASES if c.provider == "postmark")
    httpserver.expect_request("/server").respond_with_json({"Name": "Meridian"})
    httpserver.expect_request("/message-streams/outbound").respond_with_json(
        {"ID": "outbound", "MessageStreamType": "Transactional"}
    )
    path = write_config(
        tmp_path,
        mail=case.toml(httpserver.url_for("").rstrip("/")) + 'message_stream = "outbound"\n',
    )
    result = invoke(path, case.env)
    assert result.exit_code == 1
    assert "Broadcasts stream" in json.loads(result.output)["providers"][0]["detail"]
