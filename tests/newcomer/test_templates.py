"""Template overrides layer over the built-ins: one file is enough, and it can extend the
file it replaces as ``builtin/...``.  The example is the README's own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from distributor.cli import main
from distributor.render.digest import make_environment
from distributor.render.templates import BUILTIN_TEMPLATES
from distributor.store import Store
from distributor.web import create_app
from tests.conftest import ROOT, pinned_now, settings_for, write_config

MARKER = "Good morning from the Meridian desk."


def readme_example() -> tuple[str, str]:
    """(file name, text) of the README's one-file override."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- template-example: (\S+) -->\n```jinja\n(.*?)```", text, re.DOTALL)
    assert found, "the README's template example is missing"
    return found.group(1), found.group(2)


@pytest.fixture
def overrides(tmp_path: Path) -> Path:
    name, text = readme_example()
    folder = tmp_path / "my-templates"
    (folder / name).parent.mkdir(parents=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_readme_example_is_rendered_by_a_real_preview(tmp_path: Path, overrides: Path) -> None:
    config = write_config(tmp_path, social="", extra=f'templates_dir = "{overrides}"')
    out = tmp_path / "en.html"
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "preview", "--list", "daily", "--lang", "en", "--out", str(out)],
        env=pinned_now(),
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert MARKER in html  # the override's block
    assert "Four countries sign" in html  # the built-in digest around it
    # only one file was given: the subject, the text part and the layout are the built-ins
    assert html.count("<html") == 1


def test_one_file_is_enough_and_builtins_are_reachable(overrides: Path) -> None:
    env = make_environment(overrides)
    # from the override folder, the rest from the built-ins
    assert env.get_template("email/subject.txt.j2").filename == str(
        BUILTIN_TEMPLATES / "email" / "subject.txt.j2"
    )
    assert env.get_template("email/digest.html.j2").filename == str(
        overrides / "email" / "digest.html.j2"
    )
    assert env.get_template("builtin/email/digest.html.j2").filename == str(
        BUILTIN_TEMPLATES / "email" / "digest.html.j2"
    )
    # without an override folder, the built-ins answer under both names
    plain = make_environment(BUILTIN_TEMPLATES)
    assert plain.get_template("builtin/email/base.html.j2").filename == str(
        BUILTIN_TEMPLATES / "email" / "base.html.j2"
    )


@pytest.fixture
def web_app(tmp_path: Path) -> Iterator[object]:
    folder = tmp_path / "my-templates"
    (folder / "web").mkdir(parents=True)
    (folder / "web" / "signup.html.j2").write_text(
        '{% extends "builtin/signup.html.j2" %}\n'
        '{% block content %}<p id="desk">Sign up at the desk too.</p>{{ super() }}{% endblock %}\n',
        encoding="utf-8",
    )
    config = write_config(tmp_path, social="", extra=f'templates_dir = "{folder}"')
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        yield create_app(settings, store)
    finally:
        store.close()


def test_a_web_page_override_extends_the_builtin_page(web_app: object) -> None:
    from flask import Flask

    assert isinstance(web_app, Flask)
    page = web_app.test_client().get("/subscribe")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<p id="desk">Sign up at the desk too.</p>' in html
    assert 'name="email"' in html  # the built-in form, kept by super()
    # a page the folder does not have is the built-in one
    assert web_app.test_client().get("/editor/login").status_code == 200
