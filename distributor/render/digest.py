"""The digest: rendered and inlined once per variant, personalized per subscriber.

A *variant* is one edition language of one list.  Its HTML goes through
Jinja2 and premailer once; each subscriber's message only fills the personal
parts (greeting, unsubscribe and preference links) into placeholders, each
escaped for where it lands.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from distributor.config import ListConfig, Settings
from distributor.errors import RenderError
from distributor.models import Edition, Message, ShareLink, Story, Subscriber
from distributor.render import i18n
from distributor.tokens import Tokens

GREETING = "DISTRIBUTORGREETINGX"
UNSUBSCRIBE_URL = "DISTRIBUTORUNSUBSCRIBEURLX"
PREFERENCES_URL = "DISTRIBUTORPREFERENCESURLX"
_CONTROL = re.compile(r"[\r\n\x00]+")


def header_safe(value: str) -> str:
    """A header value with CR, LF and NUL removed: no header can be injected."""
    return " ".join(_CONTROL.sub(" ", value).split())


@dataclass(frozen=True, slots=True)
class Variant:
    """One rendered, inlined digest with placeholders for the personal parts."""

    list_name: str
    edition_key: str
    language: str
    subject: str
    html: str
    text: str


def make_environment(templates_dir: Path) -> Environment:
    """Jinja2 for mail: autoescape on for everything but ``*.txt.j2``."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=lambda name: name is None or not name.endswith(".txt.j2"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def inline_css(markup: str) -> str:
    """Inline CSS with premailer, never touching the network, keeping media queries."""
    from premailer import Premailer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(
            Premailer(
                markup,
                allow_network=False,
                keep_style_tags=True,
                disable_validation=True,
                cssutils_logging_level=logging.CRITICAL,
            ).transform()
        )


class DigestRenderer:
    """Renders variants and personalizes them into ready-to-send messages."""

    def __init__(self, settings: Settings, environment: Environment | None = None) -> None:
        self.settings = settings
        self.env = environment or make_environment(settings.templates_dir)
        self.tokens = Tokens(settings.secret_key.get_secret_value())

    def render(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
    ) -> Variant:
        lang = edition.language
        strings = i18n.strings_for(lang)
        tz = ZoneInfo(list_config.timezone)
        newsroom = self.settings.newsroom
        context = {
            "lang": lang,
            "dir": i18n.direction(lang),
            "align": "right" if i18n.direction(lang) == "rtl" else "left",
            "t": strings,
            "newsroom": newsroom,
            "list": list_config,
            "list_name": edition.list_name,
            "edition": edition,
            "date": i18n.long_date(edition.created_at.astimezone(tz).date(), lang),
            "lead": stories[0] if stories else None,
            "stories": list(stories[1:]),
            "all_stories": list(stories),
            "links": links,
            "reason": strings["reason"].format(list=list_config.title),
            "intro": strings["intro"].format(newsroom=newsroom.name),
            "greeting": GREETING,
            "unsubscribe_url": UNSUBSCRIBE_URL,
            "preferences_url": PREFERENCES_URL,
        }
        try:
            subject = self.env.get_template("email/subject.txt.j2").render(context)
            markup = self.env.get_template("email/digest.html.j2").render(context)
            text = self.env.get_template("email/digest.txt.j2").render(context)
        except TemplateError as err:
            raise RenderError(f"template {getattr(err, 'name', '') or ''}: {err}") from err
        return Variant(
            list_name=edition.list_name,
            edition_key=edition.key,
            language=lang,
            subject=header_safe(subject),
            html=inline_css(markup),
            text=_normalize_text(text),
        )

    def unsubscribe_url(self, subscriber: Subscriber, list_name: str) -> str:
        token = self.tokens.make("unsubscribe", subscriber.id, list_name)
        return f"{self.settings.web.base_url.rstrip('/')}/u/{token}"

    def preferences_url(self, subscriber: Subscriber, list_name: str) -> str:
        token = self.tokens.make("preferences", subscriber.id, list_name)
        return f"{self.settings.web.base_url.rstrip('/')}/p/{token}"

    def personalize(
        self,
        variant: Variant,
        subscriber: Subscriber,
        key: str,
        list_config: ListConfig,
        now: datetime,
    ) -> Message:
        """The complete message for one subscriber, built from a prepared variant."""
        strings = i18n.strings_for(variant.language)
        name = header_safe(subscriber.name)
        greeting = strings["greeting"].format(name=name) if name else strings["greeting_anon"]
        unsub = self.unsubscribe_url(subscriber, variant.list_name)
        prefs = self.preferences_url(subscriber, variant.list_name)

        body_html = (
            variant.html.replace(GREETING, html.escape(greeting))
            .replace(UNSUBSCRIBE_URL, html.escape(unsub))
            .replace(PREFERENCES_URL, html.escape(prefs))
        )
        body_text = (
            variant.text.replace(GREETING, greeting)
            .replace(UNSUBSCRIBE_URL, unsub)
            .replace(PREFERENCES_URL, prefs)
        )

        sender = header_safe(list_config.from_address)
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        message_id = f"<{digest}.{variant.edition_key}@{domain}>"

        msg = EmailMessage(policy=SMTP)
        msg["From"] = sender
        msg["To"] = formataddr((name, subscriber.email)) if name else subscriber.email
        if list_config.reply_to:
            msg["Reply-To"] = header_safe(list_config.reply_to)
        msg["Subject"] = variant.subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        msg["List-Id"] = f"{header_safe(list_config.title)} <{variant.list_name}.{domain}>"
        unsub_header = f"<{unsub}>"
        mailto = self.settings.web.unsubscribe_mailto
        if mailto:
            unsub_header += f", <mailto:{mailto}?subject=unsubscribe>"
        msg["List-Unsubscribe"] = unsub_header
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(body_text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(body_html, subtype="html", charset="utf-8", cte="quoted-printable")
        # after the body: set_content() clears every Content-* header
        msg["Content-Language"] = variant.language
        try:
            raw = msg.as_bytes()
        except (ValueError, TypeError) as err:
            raise RenderError(f"cannot build message for {subscriber.email}: {err}") from err
        mime = {"mime-version", "content-type", "content-transfer-encoding"}
        return Message(
            key=key,
            sender=str(Address(addr_spec=parseaddr(sender)[1])),
            recipient=subscriber.email,
            subject=variant.subject,
            message_id=message_id,
            raw=raw,
            text=body_text,
            html=body_html,
            headers=tuple((k, str(v)) for k, v in msg.items() if k.lower() not in mime),
        )


def _normalize_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
