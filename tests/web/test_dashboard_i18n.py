"""The editor dashboard in the editor's language: Accept-Language, dashboard.po catalogs."""

from __future__ import annotations

import ast

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment
from jinja2.ext import extract_from_ast

from distributor.render.i18n import LOCALE_DIR, catalog_languages
from distributor.web.i18n import DashboardLanguage
from tests.conftest import ROOT
from tests.web.conftest import WebEnv, csrf

TEMPLATES = ROOT / "templates" / "web" / "editor"
#: the dashboard's Python modules (their page titles, messages and results; the chart's legend)
EDITORS = sorted(
    [*(ROOT / "distributor" / "web").glob("editor*.py"), ROOT / "distributor" / "web" / "chart.py"]
)


def _used_strings() -> set[str]:
    """Every string the editor templates and ``web/editor*.py`` pass to ``_()``
    (``_("{n} readers", n=...)`` too: its first argument)."""
    env = Environment()
    used: set[str] = set()
    for path in TEMPLATES.glob("*.j2"):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for _line, _fn, msg in extract_from_ast(tree, ("_",)):
            first = msg[0] if isinstance(msg, tuple) else msg
            assert isinstance(first, str), f"{path.name}: _() of a non-literal ({msg!r})"
            used.add(first)
    for node in (n for path in EDITORS for n in ast.walk(ast.parse(path.read_text("utf-8")))):
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


def _english_left(page: str, lang: str) -> list[str]:
    """The dashboard strings still shown in English on a page in ``lang``: every text node,
    attribute title and placeholder that is a whole English string of the templates
    whose translation differs."""
    from lxml import html as lxml_html

    language = DashboardLanguage(lang)
    plain = {m for m in _used_strings() if "{" not in m and language.gettext(m) != m}
    doc = lxml_html.document_fromstring(page)
    for bad in doc.xpath("//pre | //script | //style | //td[@lang] | //*[@dir='auto']"):
        bad.drop_tree()  # stories, posts and typed texts keep their own language
    shown = {t.strip() for t in doc.xpath("//text()")}
    shown |= {str(a).strip() for a in doc.xpath("//@title | //@placeholder | //@alt")}
    # a sentence may carry a value: "Next slot:" before a <time>, "↑ first" after an arrow
    shown |= {t.strip(" ↑←·()") for t in shown}
    return sorted(plain & shown)


@pytest.mark.parametrize("lang", ["ar", "ja"])
def test_every_dashboard_page_is_wholly_in_the_editors_language(env: WebEnv, lang: str) -> None:
    """Tables, forms, buttons and messages: no template string left in English."""
    env.import_sample()
    env.fetch()
    env.login(role="admin")
    headers = {"Accept-Language": lang}
    made = env.client.post(
        "/editor/editions/draft/daily",
        data={"csrf_token": csrf(env.client, "/editor/editions")},
        headers=headers,
    )
    assert made.status_code == 302
    edition = made.headers["Location"].split("?")[0]
    result = env.client.get(made.headers["Location"], headers=headers).get_data(as_text=True)
    assert DashboardLanguage(lang).gettext("drafted") in result  # the flash message too
    pages = [
        "/editor/",
        "/editor/editions",
        edition,
        f"{edition}/confirm",
        "/editor/stories",
        "/editor/posts",
        "/editor/queue",
        "/editor/calendar",
        "/editor/history",
        "/editor/stats",
        "/editor/subscribers",
        "/editor/send/daily",
        f"/editor/preview/daily/{lang}",
    ]
    for path in pages:
        reply = env.client.get(path, headers=headers)
        assert reply.status_code == 200, path
        page = reply.get_data(as_text=True)
        assert f'<html lang="{lang}"' in page, path
        assert not _english_left(page, lang), f"{path} ({lang}): {_english_left(page, lang)}"
