"""The web app factory."""

from __future__ import annotations

from pathlib import Path

from distributor.store import Store
from distributor.web import create_app
from tests.conftest import settings_for, write_config


def test_health_endpoint(tmp_path: Path) -> None:
    settings = settings_for(write_config(tmp_path))
    store = Store.open(settings.database_url)
    try:
        client = create_app(settings, store).test_client()
        reply = client.get("/healthz")
        assert reply.status_code == 200 and reply.get_json()["status"] == "ok"
        assert client.get("/nope").status_code == 404
    finally:
        store.close()
