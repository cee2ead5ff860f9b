"""What every page of the web app shares: its dependencies, the clock, page strings, errors."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, g, render_template, request

from distributor.clock import Clock, system_clock
from distributor.config import ListConfig, Settings
from distributor.service import Context, NetworkFacts
from distributor.service import languages as digest_i18n
from distributor.tokens import Tokens

if TYPE_CHECKING:  # the app's store, given to ``create_app`` and to each Context.open
    from distributor.store import Store
from distributor.web.i18n import fmt, strings_for

CLOCK_KEY = "DISTRIBUTOR_CLOCK"


@dataclass(frozen=True)
class Deps:
    """The app's settings, store and clock, as given to ``create_app``, and its memory of
    what networks said about themselves."""

    settings: Settings
    store: Store
    clock: Clock
    #: what networks said about themselves (a Mastodon instance's limits), kept as long as
    #: the app: the live character count must not ask the instance on every keystroke
    facts: NetworkFacts

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            self.settings.secret_key.get_secret_value(),
            clock=lambda: self.clock().timestamp(),
        )

    def context(self) -> AbstractContextManager[Context]:
        """A service context of its own on the app's store (left open), clock and facts,
        closed by the caller's ``with`` (for work that must end before the response)."""
        return Context.open(self.settings, store=self.store, clock=self.clock, facts=self.facts)

    @property
    def ctx(self) -> Context:
        """The service's context of this request: :meth:`Context.open` on the app's store
        and clock, opened on first use and closed when the request ends."""
        if "distributor_ctx" not in g:
            stack = ExitStack()
            g.distributor_ctx_stack = stack
            g.distributor_ctx = stack.enter_context(
                Context.open(self.settings, store=self.store, clock=self.clock, facts=self.facts)
            )
        return cast(Context, g.distributor_ctx)


def deps() -> Deps:
    ext = current_app.extensions["distributor"]
    if "deps" not in ext:
        # tests set app.config[CLOCK_KEY] to a fixed clock; the default is the system's
        clock = cast(Clock, current_app.config.get(CLOCK_KEY) or system_clock)
        ext["deps"] = Deps(ext["settings"], ext["store"], clock, NetworkFacts(clock))
    return cast(Deps, ext["deps"])


def close_request_context(_exc: BaseException | None = None) -> None:
    """Close the request's service context, if one was opened."""
    stack = g.pop("distributor_ctx_stack", None)
    g.pop("distributor_ctx", None)
    if stack is not None:
        stack.close()


def install(app: Flask) -> None:
    """Close each request's service context when the request ends."""
    app.teardown_appcontext(close_request_context)


def page_languages(settings: Settings) -> list[str]:
    """Languages offered to readers: configured, else every language the digest speaks."""
    return list(settings.web.languages) or digest_i18n.catalog_languages()


def reader_language(preferred: str | None = None) -> str:
    """The page language: ``?lang=``, the reader's own, then Accept-Language, then default.

    Always one of the offered languages (``pt-PT`` -> ``pt``, ``ar-EG`` -> ``ar``);
    an unknown or malformed tag is skipped, never an error.
    """
    settings = deps().settings
    offered = page_languages(settings)
    for cand in (request.args.get("lang"), preferred):
        match = _offered_match(cand, offered)
        if match:
            return match
    best = request.accept_languages.best_match(offered)
    if best is None:  # Accept-Language: pt-PT, de-CH ... matched on the base language
        for value, _quality in request.accept_languages:
            best = _offered_match(value, offered)
            if best:
                break
    return best or settings.newsroom.default_language


def _offered_match(tag: str | None, offered: list[str]) -> str | None:
    """The offered language for ``tag``: itself, else one with its base language."""
    if not tag or not tag.strip() or tag == "*":
        return None
    norm = tag.strip().replace("_", "-").lower()
    by_lower = {o.replace("_", "-").lower(): o for o in offered}
    if norm in by_lower:
        return by_lower[norm]
    base = digest_i18n.base_language(norm)
    if base in by_lower:
        return by_lower[base]
    regional = sorted(o for o in offered if digest_i18n.base_language(o) == base)
    return regional[0] if regional else None


def render_page(template: str, *, lang: str, status: int = 200, **context: Any) -> Any:
    """A reader-facing page in ``lang`` (strings, ``lang`` and ``dir`` set)."""
    settings = deps().settings

    def list_title(cfg: ListConfig) -> str:
        return cfg.title_in(lang)

    def list_description(cfg: ListConfig) -> str:
        return cfg.description_in(lang)

    def topic_name(topic: str) -> str:
        return settings.web.topic_name(topic, lang)

    html = render_template(
        template,
        lang=lang,
        dir=digest_i18n.direction(lang),
        text_dir=digest_i18n.direction,
        font_stack=digest_i18n.font_stack(lang),
        t=strings_for(lang),
        fmt=fmt,
        list_title=list_title,
        list_description=list_description,
        topic_name=topic_name,
        newsroom=settings.newsroom,
        **context,
    )
    return html, status, {"Content-Language": lang}


def message_page(
    title_key: str, body_key: str, *, lang: str, status: int = 200, **values: str
) -> Any:
    """A page that only says something (errors, confirmations); the values (an address,
    a list title) are escaped and isolated in ``<bdi>``."""
    t = strings_for(lang)
    return render_page(
        "message.html.j2",
        lang=lang,
        status=status,
        title=t[title_key],
        body=fmt(t[body_key], **values),
    )
