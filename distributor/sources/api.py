"""A newsroom CMS's HTTP JSON API, read through a configurable field mapping.

Each field of a story is found in an API item by a JMESPath expression (a
dotted path such as ``title.rendered`` is one).  Pages are followed by a next
link (a field of the body, else the ``Link: <...>; rel="next"`` header) or by
a page number parameter, up to ``max_pages``.  Conditional GET is used for the
first page: when it has not changed, nothing is read.  The token is sent only
to the origin of the configured ``url``: a next link or a redirect elsewhere
is read without it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
from jmespath.exceptions import JMESPathError
from requests.utils import parse_header_links

from distributor.config import ApiSourceConfig
from distributor.errors import HttpStatusError, SourceError
from distributor.models import Story
from distributor.sources.base import Credentials, Fetched, FetchResult, Source, Validators
from distributor.sources.normalize import RawItem, bounded_int, normalize


class ApiSource(Source):
    """Stories from a JSON API, page by page."""

    accept = "application/json"

    @property
    def api(self) -> ApiSourceConfig:
        assert isinstance(self.config, ApiSourceConfig)
        return self.config

    def fetch(self, now: datetime, validators: Validators | None = None) -> FetchResult:
        cfg = self.api
        headers = dict(cfg.headers)
        credentials = None
        if cfg.token is not None:
            token = {cfg.token_header: cfg.token_prefix + cfg.token.get_secret_value()}
            credentials = Credentials.for_url(cfg.url, token)
        first = self._page_url(cfg.url, cfg.first_page) if cfg.pagination == "page" else cfg.url
        fetched = self.read(first, validators, headers, credentials)
        if fetched.not_modified:
            return FetchResult(
                self.name, (), not_modified=True, validators=fetched.validators, location=first
            )
        pages = [fetched]
        problems: list[str] = []
        seen = {first}
        page_no = cfg.first_page
        while cfg.pagination != "none" and len(pages) < cfg.max_pages:
            if not self._items(pages[-1], len(pages))[0]:
                break
            if cfg.pagination == "page":
                page_no += 1
                nxt: str | None = self._page_url(cfg.url, page_no)
            else:
                nxt = self._next_link(pages[-1])
            if not nxt:
                break
            if nxt in seen:
                problems.append(f"page {len(pages)}: next link {nxt} was already read; stopped")
                break
            seen.add(nxt)
            if credentials is not None and not credentials.may_go_to(nxt):
                problems.append(
                    f"page {len(pages) + 1}: {nxt} is on another origin; read without the token"
                )
            try:
                pages.append(self.read(nxt, None, headers, credentials))
            except HttpStatusError as err:
                if (cfg.pagination == "page" and err.status == 400) or err.status == 404:
                    break  # past the last page (WordPress answers 400)
                problems.append(f"page {len(pages) + 1}: {err.reason}; later pages not read")
                break
            except SourceError as err:
                problems.append(f"page {len(pages) + 1}: {err.reason}; later pages not read")
                break
        else:
            if cfg.pagination != "none" and len(pages) >= cfg.max_pages:
                problems.append(f"stopped after max_pages={cfg.max_pages} pages")
        raws: list[RawItem] = []
        for number, page in enumerate(pages, start=1):
            items, page_problems = self._items(page, number)
            problems.extend(page_problems)
            for item in items:
                raws.append(self._raw(len(raws) + 1, item, problems, page.location))
        stories, item_problems = normalize(raws, self.defaults(), now)
        return FetchResult(
            self.name,
            tuple(stories),
            tuple(problems + item_problems),
            validators=fetched.validators,
            location=first,
        )

    def parse(self, fetched: Fetched, now: datetime) -> tuple[tuple[Story, ...], tuple[str, ...]]:
        """Stories and problems from one page (for ``distributor stories inspect``)."""
        items, problems = self._items(fetched, 1)
        notes: list[str] = list(problems)
        raws = [
            self._raw(i, item, notes, fetched.location) for i, item in enumerate(items, start=1)
        ]
        stories, item_problems = normalize(raws, self.defaults(), now)
        return tuple(stories), tuple(notes + item_problems)

    def _page_url(self, url: str, page: int) -> str:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != self.api.page_param]
        query.append((self.api.page_param, str(page)))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _body(self, page: Fetched) -> Any:
        try:
            return json.loads(page.content, parse_int=bounded_int)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SourceError(self.name, f"{page.location} is not JSON: {err}") from err
        except RecursionError as err:
            raise SourceError(
                self.name, f"{page.location} is JSON nested too deeply to read"
            ) from err

    def _items(self, page: Fetched, number: int) -> tuple[list[dict[str, Any]], list[str]]:
        body = self._body(page)
        try:
            items = jmespath.search(self.api.items, body)
        except JMESPathError as err:
            raise SourceError(self.name, f"items expression {self.api.items!r}: {err}") from err
        if items is None:
            if number == 1:
                raise SourceError(
                    self.name, f"no list at {self.api.items!r} in the reply from {page.location}"
                )
            return [], []
        if not isinstance(items, list):
            raise SourceError(self.name, f"{self.api.items!r} is not a list in {page.location}")
        good = [i for i in items if isinstance(i, dict)]
        problems = (
            [f"page {number}: {len(items) - len(good)} items are not objects; skipped"]
            if (len(good) != len(items))
            else []
        )
        return good, problems

    def _next_link(self, page: Fetched) -> str | None:
        try:
            return self._find_next_link(page)
        except ValueError:  # a next link that is not a URL (a bad port, a bad IPv6 host)
            return None

    def _find_next_link(self, page: Fetched) -> str | None:
        if self.api.next_link:
            value = jmespath.search(self.api.next_link, self._body(page))
            return urljoin(page.location, value) if isinstance(value, str) and value else None
        for link in parse_header_links(page.headers.get("link", "")):
            if link.get("rel") == "next" and link.get("url"):
                return urljoin(page.location, link["url"])
        return None

    def _raw(self, index: int, item: dict[str, Any], problems: list[str], base: str) -> RawItem:
        f = self.api.fields

        def get(expr: str | None) -> Any:
            if not expr:
                return None
            try:
                return jmespath.search(expr, item)
            except JMESPathError as err:
                raise SourceError(self.name, f"field expression {expr!r}: {err}") from err

        def text(expr: str | None) -> str | None:
            value = get(expr)
            if value is None or isinstance(value, dict | list):
                return None
            return str(value)

        sections = get(f.sections)
        if isinstance(sections, str):
            sections = [sections]
        elif not isinstance(sections, list):
            sections = []
        author = get(f.author)
        if isinstance(author, list):
            author = ", ".join(str(a) for a in author if isinstance(a, str | int))
        return RawItem(
            index=index,
            guid=text(f.id),
            url=text(f.url),
            title=text(f.title) or "",
            summary=text(f.summary) or "",
            body=text(f.body) or "",
            image=text(f.image),
            author=str(author) if isinstance(author, str | int) and author != "" else None,
            sections=[str(s) for s in sections if isinstance(s, str | int)],
            language=text(f.language),
            published=get(f.published),
            updated=get(f.updated),
            status=text(f.status),
            translation_group=text(f.translation_group),
            base=base if base.lower().startswith(("http://", "https://")) else None,
        )
