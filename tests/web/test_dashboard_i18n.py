"""The editor dashboard in the editor's language: Accept-Language, dashboard.po catalogs."""

from __future__ import annotations

import ast

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment
from jinja2.ext import extract_from_ast

from distributor.render.i18n import LOCALE_DIR, catalog_languages
from tests.conftest import ROOT
from tests.web.conftest import WebEnv, csrf

TEMPLATES = ROOT / "templates" / "web" / "editor"
EDITORS = ROOT / "distributor" / "web" / "editors.py"


def _used_strings() -> set[str]:
    """Every string the editor templates and ``editors.py`` pass to ``_()``."""
    env = Environment()
    used: set[str] = set()
    for path in TEMPLATES.glob("*.j2"):
        tree = env.parse(path.read_text(encoding="utf-8"))
        used |= {msg for _line, _fn, msg in extract_from_ast(tree, ("_",)) if isinstance(msg, str)}
    for node in ast.walk(ast.parse(EDITORS.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            used.add(str(node.args[0].value))
    return used


def test_every_dashboard_catalog_has_every_string_the_pages_use() -> None:
    used = _used_strings()
    assert {"Next editions", "Log out", "Editor login", "Wrong email or password."} <= used
    languages = catalog_languages(domain="dashboard")
    assert {"ar", "de", "es", "fr", "he", "ja", "pt", "pt-BR"} <= set(languages)
    for lang in languages:
        path = LOCALE_DIR / lang.replace("-", "_") / "LC_MESSAGES" / "dashboard.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang.replace("-", "_"))
        have = {m.id for m in catalog if m.id and m.string}
        assert not used - have, f"{path.name} ({lang}) lacks {sorted(used - have)}"
        assert not have - used, f"{path.name} ({lang}) has unused {sorted(have - used)}"


@pytest.mark.parametrize(
    ("accept", "lang", "direction", "heading", "password"),
    [
        (None, "en", "ltr", "Editor login", "Password"),
        ("de-DE,de;q=0.9,en;q=0.5", "de", "ltr", "Anmeldung für die Redaktion", "Passwort"),
        ("ar-EG", "ar", "rtl", "دخول المحررين", "كلمة المرور"),
        ("pt-BR", "pt-BR", "ltr", "Acesso da redação", "Senha"),
        ("pt-PT", "pt", "ltr", "Acesso da redação", "Palavra-passe"),
        ("xx, zh-Hant-TW", "en", "ltr", "Editor login", "Password"),
    ],
)
def test_the_login_page_speaks_the_browsers_language(
    env: WebEnv, accept: str | None, lang: str, direction: str, heading: str, password: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    page = env.client.get("/editor/login", headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{direction}">' in page
    assert f"<h1>{heading}</h1>" in page and f">{password}</label>" in page


def test_the_navigation_and_the_login_errors_are_translated(env: WebEnv) -> None:
    ja = {"Accept-Language": "ja"}
    password = env.add_editor()
    wrong = env.client.post(
        "/editor/login",
        data={"email": "editor@news.example", "password": "no", "csrf_token": csrf(env.client)},
        headers={"Accept-Language": "fr"},
    )
    assert wrong.status_code == 401
    assert "E-mail ou mot de passe incorrect." in wrong.get_data(as_text=True)
    ok = env.client.post(
        "/editor/login",
        data={
            "email": "editor@news.example",
            "password": password,
            "csrf_token": csrf(env.client),
        },
    )
    assert ok.status_code == 302
    page = env.client.get("/editor/", headers=ja).get_data(as_text=True)
    assert '<html lang="ja" dir="ltr">' in page
    for label in ("次の号", "配信号", "記事", "履歴", "ログアウト"):
        assert f">{label}<" in page, label
    # English without a preference, and an admin-only page refuses in German
    assert ">Next editions<" in env.client.get("/editor/").get_data(as_text=True)
    refused = env.client.get("/editor/subscribers", headers={"Accept-Language": "de"})
    assert refused.status_code == 403 and "Nur für Admins" in refused.get_data(as_text=True)
