"""``[newsroom]`` and ``[lists.NAME]``: who publishes, and each list's editions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from distributor.config.base import (
    BrandColor,
    Language,
    Sender,
    TimeZone,
    _language,
    _Section,
    in_language,
)
from distributor.cron import parse_cron


class NewsroomConfig(_Section):
    name: str
    url: str
    default_language: Language = "en"
    postal_address: str = ""
    brand_color: BrandColor = "#0b3d91"  # white text on it must reach 4.5:1
    logo_url: str | None = None
    logo_width: int = Field(default=200, ge=1, le=600)
    logo_height: int = Field(default=48, ge=1, le=600)
    #: the newsroom's own images on disk (relative to this file): story images whose URL
    #: starts with ``images_url`` are read from here for the share cards, and
    #: ``distributor serve`` serves them under ``<base_url>/images/``
    images_dir: str | None = None
    #: the URL the stories' images start with; default ``<url>/images/``
    images_url: str | None = None
    #: readers see the newsroom's own images where ``distributor serve`` serves them:
    #: digests, previews and archive pages link ``<web.base_url>/images/<name>`` for a
    #: story image found in ``images_dir``, instead of its ``images_url`` address.  For a
    #: newsroom without a public image host (and the sample, whose ``news.example`` does
    #: not resolve); off by default, so images on the newsroom's site or CDN stay there.
    images_served: bool = False
    #: the desk's zone: the dashboard shows and takes edition times in it (unset: in each
    #: list's own zone)
    timezone: TimeZone | None = None

    @model_validator(mode="after")
    def _served_needs_a_folder(self) -> NewsroomConfig:
        if self.images_served and self.images_dir is None:
            raise ValueError("images_served = true needs images_dir (the folder to serve)")
        return self


def _schedule(value: str) -> str:
    if value.strip().lower() in ("", "off"):
        return "off"
    try:
        parse_cron(value, "UTC")
    except ValueError as err:
        raise ValueError(f"{value!r} is not a cron expression: {err}") from err
    return value.strip()


Schedule = Annotated[str, AfterValidator(_schedule)]


def _translatable(data: Any, field_name: str, default_language: str) -> None:
    """``title = { en = "...", ar = "..." }``: the default language's text (else the
    first) as ``title``, every language in ``title_i18n``."""
    value = data.get(field_name) if isinstance(data, dict) else None
    if isinstance(value, dict):
        texts = {str(k): v for k, v in value.items()}
        for k, v in texts.items():
            if not isinstance(v, str):
                raise ValueError(f"{field_name}.{k}: must be a string (got {v!r})")
            _language(k)
        data[f"{field_name}_i18n"] = texts
        data[field_name] = in_language(texts, default_language, next(iter(texts.values()), ""))


class ListConfig(_Section):
    #: ``title = "..."`` or one per language: ``title = { en = "...", ar = "..." }``
    title: str
    title_i18n: dict[str, str] = {}
    from_address: Sender
    reply_to: Sender | None = None
    mail: str = "outbox"
    timezone: TimeZone = "UTC"
    max_stories: int = Field(default=10, ge=1, le=100)
    max_age_hours: int = Field(default=48, ge=1)
    subscribers_file: str | None = None
    fallback_language: Language | None = None
    description: str = ""
    description_i18n: dict[str, str] = {}
    # --- every reader in their own language (issue 15) ---
    #: stories in other languages than the reader's: a separate "In other languages"
    #: part ("section"), after the reader's own in the same list ("fill"), or never ("none")
    fallback: Literal["section", "fill", "none"] = "section"
    #: a variant without any story in its language: send the fallbacks, or "skip" it
    empty_language: Literal["skip", "fallback"] = "fallback"
    # an edition variant with no new stories: "skip" it, or "send" it anyway
    empty_edition: Literal["skip", "send"] = "skip"
    # readers who chose the weekly digest get one edition on this day (the list's zone)
    weekly_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    # --- schedule (issue 8) ---
    schedule: Schedule = "0 7 * * *"
    local_time: bool = False
    grace_time: int = Field(default=3600, ge=0)
    # --- editions (issue 14) ---
    # "auto": a slot sends the draft it makes; "editor": the draft is made `draft_lead`
    # hours before the slot and only an approved edition is sent
    approval: Literal["auto", "editor"] = "auto"
    draft_lead: float = Field(default=2.0, gt=0, le=48)
    # the desk: where a test send goes when no address is given
    test_recipients: list[str] = Field(default_factory=list)
    test_send_limit: int = Field(default=20, ge=1)  # test messages per list and hour
    # --- reach and engagement (issue 17, docs/privacy.md) ---
    #: links through ``/r/<token>``: "aggregate" (the same links for every reader),
    #: "per_reader" (each reader's clicks are kept: an opt-in), "off" (links untouched)
    tracking: Literal["aggregate", "per_reader", "off"] = "aggregate"
    #: an open pixel (unreliable: mail clients prefetch images); off unless asked for
    opens: bool = False

    @model_validator(mode="before")
    @classmethod
    def _per_language(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            default = str(data.pop("_default_language", "en"))
            for name in ("title", "description"):
                if f"{name}_i18n" in data and isinstance(data.get(name), dict):
                    raise ValueError(f"{name}_i18n: set {name} = {{ lang = ... }} instead")
                _translatable(data, name, default)
        return data

    @model_validator(mode="after")
    def _approval_needs_one_slot(self) -> ListConfig:
        # a local-time list has no one slot: each reader's copy is made and sent at the
        # reader's own hour, spread over a day; there is no moment at which an editor's
        # approval could be awaited for every reader (docs/editions.md)
        if self.local_time and self.approval == "editor":
            raise ValueError(
                'approval = "editor" cannot be used with local_time = true: a local-time '
                "list sends each reader at their own hour, so no one slot waits for the "
                "approval (send a one-off edition, or drop local_time)"
            )
        return self

    def title_in(self, language: str) -> str:
        """The list's title in ``language`` (``title = { ar = ... }``), else ``title``."""
        return in_language(self.title_i18n, language, self.title)

    def description_in(self, language: str) -> str:
        """The list's description in ``language``, else ``description``."""
        return in_language(self.description_i18n, language, self.description)
