"""What every page of the web app shares: its dependencies, the clock, page strings, errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from flask import current_app, render_template, request

from distributor.clock import Clock, system_clock
from distributor.config import Settings
from distributor.render import i18n as digest_i18n
from distributor.store import Store
from distributor.store.web import WebStore
from distributor.tokens import Tokens
from distributor.web.i18n import strings_for

CLOCK_KEY = "DISTRIBUTOR_CLOCK"


@dataclass(frozen=True)
class Deps:
    """The app's settings, store and clock, as given to ``create_app``."""

    settings: Settings
    store: Store
    web: WebStore
    clock: Clock

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            self.settings.secret_key.get_secret_value(),
            clock=lambda: self.clock().timestamp(),
        )


def deps() -> Deps:
    ext = current_app.extensions["distributor"]
    if "deps" not in ext:
        # tests set app.config[CLOCK_KEY] to a fixed clock; the default is the system's
        clock = cast(Clock, current_app.config.get(CLOCK_KEY) or system_clock)
        ext["deps"] = Deps(ext["settings"], ext["store"], WebStore(ext["store"]), clock)
    return cast(Deps, ext["deps"])


def page_languages(settings: Settings) -> list[str]:
    """Languages offered to readers: configured, else every language the digest speaks."""
    return list(settings.web.languages) or digest_i18n.catalog_languages()


def reader_language(preferred: str | None = None) -> str:
    """The page language: ``?lang=``, the reader's own, then Accept-Language, then default."""
    settings = deps().settings
    offered = page_languages(settings)
    for cand in (request.args.get("lang"), preferred):
        if cand and digest_i18n.base_language(cand) in {
            digest_i18n.base_language(o) for o in offered
        }:
            return cand
    best = request.accept_languages.best_match(offered)
    return best or settings.newsroom.default_language


def render_page(template: str, *, lang: str, status: int = 200, **context: Any) -> Any:
    """A reader-facing page in ``lang`` (strings, ``lang`` and ``dir`` set)."""
    settings = deps().settings
    html = render_template(
        template,
        lang=lang,
        dir=digest_i18n.direction(lang),
        t=strings_for(lang),
        newsroom=settings.newsroom,
        **context,
    )
    return html, status, {"Content-Language": lang}


def message_page(title_key: str, body_key: str, *, lang: str, status: int = 200, **fmt: str) -> Any:
    """A page that only says something (errors, confirmations)."""
    t = strings_for(lang)
    return render_page(
        "message.html.j2",
        lang=lang,
        status=status,
        title=t[title_key],
        body=t[body_key].format(**fmt),
    )
