"""``[sources.NAME]``: feeds, JSON Feeds, HTTP JSON APIs and folders of Markdown files."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    SecretStr,
    Tag,
)

from distributor.config.base import Language, TimeZone, _Section


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"not a valid regular expression: {err}") from err
    return value


Regex = Annotated[str, AfterValidator(_regex)]


class _SourceBase(_Section):
    language: Language | None = None
    timezone: TimeZone = "UTC"
    enabled: bool = True
    timeout: float = Field(default=20.0, gt=0)
    # the whole fetch (connection, redirects, headers and body) must end within this;
    # by default three times ``timeout``
    deadline: float | None = Field(default=None, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)
    # more items than this in one read are left out, with a problem reported
    max_items: int = Field(default=1000, ge=1, le=100_000)
    # a regular expression on the story URL whose first group (or group "key")
    # is shared by every translation of a story, e.g. "^https://x/[a-z-]+/(.+)$"
    translation_pattern: Regex | None = None


class FeedSourceConfig(_SourceBase):
    """RSS 0.9x/1.0/2.0 or Atom 1.0 from a URL or a local path."""

    kind: Literal["feed"] = "feed"
    url: str


class JsonFeedSourceConfig(_SourceBase):
    """A JSON Feed (1.0 or 1.1) from a URL or a local path."""

    kind: Literal["jsonfeed"]
    url: str


StatusName = Literal["published", "draft", "scheduled"]


class ApiFields(_Section):
    """Where each story field is found in an API item: JMESPath expressions (dotted paths)."""

    id: str | None = "id"
    title: str = "title"
    url: str = "url"
    summary: str | None = "summary"
    body: str | None = None
    image: str | None = None
    language: str | None = None
    published: str | None = "published"
    updated: str | None = None
    status: str | None = None
    translation_group: str | None = None
    author: str | None = None
    sections: str | None = None


class ApiSourceConfig(_SourceBase):
    """A CMS's HTTP JSON API, read with a field mapping and pagination."""

    kind: Literal["api"]
    url: str
    items: str = "items"
    fields: ApiFields = ApiFields()
    status_values: dict[str, StatusName] = {}
    pagination: Literal["none", "next_link", "page"] = "none"
    next_link: str | None = None
    page_param: str = "page"
    first_page: int = 1
    max_pages: int = Field(default=10, ge=1, le=1000)
    headers: dict[str, str] = {}
    token: SecretStr | None = None
    token_header: str = "Authorization"
    token_prefix: str = "Bearer "


class MarkdownSourceConfig(_SourceBase):
    """A folder of Markdown files with YAML front matter."""

    kind: Literal["markdown"]
    path: str
    base_url: str | None = None
    pattern: str = "**/*.md"


def _source_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "feed"))
    return str(getattr(value, "kind", "feed"))


SourceConfig = Annotated[
    Annotated[FeedSourceConfig, Tag("feed")]
    | Annotated[JsonFeedSourceConfig, Tag("jsonfeed")]
    | Annotated[ApiSourceConfig, Tag("api")]
    | Annotated[MarkdownSourceConfig, Tag("markdown")],
    Discriminator(_source_kind),
]
