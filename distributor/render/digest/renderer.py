"""The :class:`DigestRenderer`: variants rendered and inlined once, personalized per
subscriber into pre-encoded messages (and the slow reference path).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, TemplateError
from markupsafe import Markup

from distributor.addresses import sending_form
from distributor.config import ListConfig, Settings
from distributor.errors import AddressError, RenderError
from distributor.models import Edition, Message, ShareLink, Story, Subscriber
from distributor.render import i18n
from distributor.render.digest.markup import (
    _fill,
    _finish_html,
    _mailbox,
    _normalize_text,
    archive_name,
    clean_name,
    inline_css,
    make_environment,
)
from distributor.render.digest.values import (
    _NETWORK_LABELS,
    _PERSONAL_MARGIN,
    _RAW_HEADERS,
    MAX_HTML_BYTES,
    Shortening,
    Variant,
)
from distributor.render.fastmime import (
    PLACEHOLDERS,
    SIMPLE_ADDRESS,
    Personalizer,
    PreparedMessage,
    StaticHeader,
    display_address,
    encode_header,
    message_id_for,
)
from distributor.render.images import ReaderImages
from distributor.render.personal import LinkSigner, Personal, header_safe, mailto_prefix
from distributor.render.tracking import READER_PLACEHOLDER, ClickLinks
from distributor.selection import speaks
from distributor.tokens import Tokens


class DigestRenderer:
    """Renders variants and personalizes them into ready-to-send messages."""

    def __init__(self, settings: Settings, catalogs: i18n.Catalogs | None = None) -> None:
        self.settings = settings
        self.catalogs = catalogs or i18n.Catalogs()
        secret = settings.secret_key.get_secret_value()
        self.tokens = Tokens(secret)
        self.signer = LinkSigner(secret, settings.web.base_url)
        self.click_links = ClickLinks(secret, settings.web.base_url)
        self.env = make_environment(settings.templates_dir)
        self.images = ReaderImages(settings)
        self.max_html_bytes = MAX_HTML_BYTES
        self._envs: dict[int, Environment] = {}
        self._greetings: dict[str, tuple[str, str]] = {}
        self._last_prepared: PreparedMessage | None = None
        mailto = settings.web.unsubscribe_mailto
        self._mailto = mailto_prefix(header_safe(mailto)) if mailto else None
        self._placeholders = Personal(
            PLACEHOLDERS["greeting"],
            PLACEHOLDERS["unsubscribe_url"],
            PLACEHOLDERS["preferences_url"],
            "",
        )

    # ----------------------------------------------------------- templates
    def environment(self, language: str) -> Environment:
        """The Jinja2 environment with ``language``'s catalog installed."""
        translations = self.catalogs.translations(language)
        key = id(translations)
        if key not in self._envs:
            self._envs[key] = make_environment(self.settings.templates_dir, translations)
        return self._envs[key]

    def archive_url(self, edition: Edition) -> str:
        """Where the web archive page of an edition is served (the "view in browser" link)."""
        web = self.settings.web
        base = (web.archive_url or f"{web.base_url.rstrip('/')}/archive").rstrip("/")
        return f"{base}/{archive_name(edition)}"

    def _context(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
        personal: Personal,
        *,
        summaries: bool = True,
        shortened: bool = False,
    ) -> dict[str, Any]:
        lang = edition.language
        direction = i18n.direction(lang)
        rtl = direction == "rtl"
        translations = self.catalogs.translations(lang)

        def story_time(story: Story) -> str:
            if story.published_at is None:
                return ""
            return i18n.short_datetime(story.published_at, lang, list_config.timezone)

        def share_label(network: str) -> str:
            if network == "email":
                return str(translations.gettext("Email"))
            return _NETWORK_LABELS.get(network, network.replace("_", " ").title())

        def own(story: Story) -> bool:
            return speaks(lang, story.language)

        def language_name(tag: str) -> str:
            """A story's language named in the edition's language (``الإنجليزية``)."""
            return i18n.language_name(tag, lang)

        # the reader's own language first; the rest after, as the list's fallback says;
        # each image where readers are shown it (``[newsroom] images_served``)
        stories = [self.images.story(s) for s in stories]
        own_stories = [s for s in stories if own(s)]
        others = [s for s in stories if not own(s)]
        if not own_stories:  # nothing in the reader's language: the fallbacks are the edition
            own_stories, others = others, []
        ordered = own_stories + others
        lead = ordered[0] if ordered else None
        if getattr(list_config, "fallback", "section") == "section":
            parts = [("more", own_stories[1:]), ("other", others)]
        else:
            parts = [("more", ordered[1:]), ("other", [])]
        numbers = {s.id: i for i, s in enumerate(ordered, 1)}
        list_title = list_config.title_in(lang)
        tz = ZoneInfo(list_config.timezone)
        return {
            "lang": lang,
            "dir": direction,
            "start": "right" if rtl else "left",
            "end": "left" if rtl else "right",
            "align": "right" if rtl else "left",
            "font_stack": i18n.font_stack(lang),
            "story_font": i18n.font_stack,
            "newsroom": self.settings.newsroom,
            "list": list_config,
            "list_title": list_title,
            "list_description": list_config.description_in(lang),
            "list_name": edition.list_name,
            "edition": edition,
            # the editor's intro (issue 14): sanitized when it was saved
            "intro_html": Markup(edition.intro_html),
            "intro_text": edition.intro_text,
            "date": i18n.long_date(edition.created_at.astimezone(tz).date(), lang),
            "lead": lead,
            "stories": ordered[1:],
            "all_stories": ordered,
            "parts": parts,
            "text_parts": [("more", [lead, *parts[0][1]] if lead else []), parts[1]],
            "story_number": lambda story: numbers.get(story.id, 0),
            "own": own,
            "language_name": language_name,
            "story_count": len(stories),
            "links": links,
            "greeting": personal.greeting,
            "unsubscribe_url": personal.unsubscribe_url,
            "preferences_url": personal.preferences_url,
            "view_url": self.archive_url(edition),
            "show_summaries": summaries,
            "shortened": shortened,
            "story_time": story_time,
            "share_label": share_label,
            "number": lambda value: i18n.number(value, lang),
            "text_dir": i18n.direction,
            # where a story's title links: the story (the archive page links its own pages)
            "story_href": lambda story: story.url,
            "more_href": lambda story: story.url,
            "open_pixel": "",
        }

    def _render(self, template: str, language: str, context: Mapping[str, Any]) -> str:
        try:
            return self.environment(language).get_template(template).render(context)
        except TemplateError as err:
            raise RenderError(f"template {getattr(err, 'name', '') or template}: {err}") from err

    def _render_mail(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
        personal: Personal,
        *,
        summaries: bool = True,
        shortened: bool = False,
    ) -> tuple[str, str, str]:
        """(subject, inlined HTML, text) of one digest."""
        ctx = self._context(
            edition,
            stories,
            links,
            list_config,
            personal,
            summaries=summaries,
            shortened=shortened,
        )
        tracked = self.click_links.for_edition(
            edition, list_config.tracking, opens=list_config.opens
        )
        if tracked is not None:  # click links (issue 17): the same for every reader
            ctx["story_href"] = tracked.story
            ctx["more_href"] = lambda story: tracked.story(story, "more")
            ctx["links"] = tracked.shares(stories, links)
            ctx["open_pixel"] = tracked.open_pixel()
        lang = edition.language
        subject = header_safe(edition.subject or self._render("email/subject.txt.j2", lang, ctx))
        markup = _finish_html(inline_css(self._render("email/digest.html.j2", lang, ctx)))
        text = _normalize_text(self._render("email/digest.txt.j2", lang, ctx))
        return subject, markup, text

    # ------------------------------------------------------------- variant
    def render(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
    ) -> Variant:
        """Render and inline one variant once; shorten it when its HTML is too big."""
        stories = list(stories)
        limit = self.max_html_bytes - _PERSONAL_MARGIN
        subject, markup, text = self._render_mail(
            edition, stories, links, list_config, self._placeholders
        )
        kept = stories
        shortening = None
        original = len(markup.encode("utf-8"))
        if original > limit:
            markup, text, kept, summaries = self._shorten(
                edition, stories, links, list_config, limit
            )
            shortening = Shortening(
                original_bytes=original,
                final_bytes=len(markup.encode("utf-8")),
                summaries_dropped=not summaries,
                stories_dropped=len(stories) - len(kept),
                stories_total=len(stories),
            )
        return Variant(
            list_name=edition.list_name,
            edition_key=edition.key,
            language=edition.language,
            subject=subject,
            html=markup,
            text=text,
            story_ids=tuple(s.id for s in kept),
            view_url=self.archive_url(edition),
            shortening=shortening,
            reader_links=list_config.tracking == "per_reader" and edition.id > 0,
            prepared=self._prepare(edition, subject, markup, text, list_config),
        )

    def _shorten(
        self,
        edition: Edition,
        stories: list[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
        limit: int,
    ) -> tuple[str, str, list[Story], bool]:
        """Drop summaries, then the last stories, until the HTML fits; keep the footer."""

        def attempt(count: int) -> tuple[str, str]:
            _s, markup, text = self._render_mail(
                edition,
                stories[:count],
                links,
                list_config,
                self._placeholders,
                summaries=False,
                shortened=True,
            )
            return markup, text

        markup, text = attempt(len(stories))
        if len(markup.encode("utf-8")) <= limit or len(stories) <= 1:
            return markup, text, stories, False
        # the largest number of stories that fits (at least the lead), by bisection
        lo, hi = 1, len(stories) - 1
        best = attempt(1)
        while lo <= hi:
            mid = (lo + hi) // 2
            candidate = attempt(mid)
            if len(candidate[0].encode("utf-8")) <= limit:
                best, lo = candidate, mid + 1
            else:
                hi = mid - 1
        count = max(1, hi)
        return best[0], best[1], stories[:count], False

    def _sender_parts(self, list_config: ListConfig) -> tuple[str, str, str]:
        sender = _mailbox(list_config.from_address)
        addr = parseaddr(sender)[1]
        domain = addr.rpartition("@")[2] or "localhost"
        return sender, addr, domain

    def _prepare(
        self,
        edition: Edition | Variant,
        subject: str,
        markup: str,
        text: str,
        list_config: ListConfig,
    ) -> PreparedMessage:
        sender, addr, domain = self._sender_parts(list_config)
        reply_to = (
            [StaticHeader("Reply-To", _mailbox(list_config.reply_to))]
            if list_config.reply_to
            else []
        )
        key = edition.key if isinstance(edition, Edition) else edition.edition_key
        boundary = (
            "=_"
            + hashlib.sha256(f"{edition.list_name}/{key}/{edition.language}".encode()).hexdigest()[
                :32
            ]
        )
        prepared = PreparedMessage(
            text=text,
            html=markup,
            subject=subject,
            envelope_sender=str(Address(addr_spec=addr)),
            headers_before_to=[StaticHeader("From", sender)],
            headers_after_to=[*reply_to, StaticHeader("Subject", subject)],
            headers_after_date=[
                StaticHeader("List-Id", self._list_id(edition.list_name, list_config, domain))
            ],
            headers_tail=[StaticHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")],
            content_language=edition.language,
            edition_key=key,
            domain=domain,
            boundary=boundary,
            # tokens are [A-Za-z0-9_.-]: only the configured base URL could need escaping
            plain_links=not re.search('[&<>"]', self.signer.base_url),
        )
        prepared.source = (list_config, subject, markup, text)
        return prepared

    def _prepared_for(self, variant: Variant, list_config: ListConfig) -> PreparedMessage:
        """The variant's prepared message; rebuilt when the variant or list was changed
        after rendering (e.g. ``dataclasses.replace(variant, subject="[TEST] ...")``)."""
        source = (list_config, variant.subject, variant.html, variant.text)
        for prepared in (variant.prepared, self._last_prepared):
            if prepared is not None and all(
                a is b or a == b for a, b in zip(prepared.source, source, strict=True)
            ):
                return prepared
        prepared = self._prepare(variant, variant.subject, variant.html, variant.text, list_config)
        self._last_prepared = prepared
        return prepared

    @staticmethod
    def _list_id(list_name: str, list_config: ListConfig, domain: str) -> str:
        return f"{header_safe(list_config.title)} <{list_name}.{domain}>"

    # ------------------------------------------------------ personal parts
    def personal(self, subscriber: Subscriber, list_name: str, language: str) -> Personal:
        """The subscriber's greeting and signed links (unescaped)."""
        return self._personal(subscriber, clean_name(subscriber.name), list_name, language)

    def greetings(self, language: str) -> tuple[str, str]:
        """The greeting with a name (``%(name)s``) and without, in ``language``."""
        greetings = self._greetings.get(language)
        if greetings is None:
            translations = self.catalogs.translations(language)
            greetings = (
                str(translations.gettext("Hello %(name)s,")),
                str(translations.gettext("Hello,")),
            )
            self._greetings[language] = greetings
        return greetings

    def _personal(
        self, subscriber: Subscriber, name: str, list_name: str, language: str
    ) -> Personal:
        greetings = self.greetings(language)
        # the name in Unicode isolates (FSI ... PDI): an Arabic name in an English greeting
        # (or a Latin one in an Arabic greeting) keeps its direction in HTML and text alike
        greeting = greetings[0] % {"name": f"\u2068{name}\u2069"} if name else greetings[1]
        unsub, prefs, token = self.signer.links(subscriber.id, list_name)
        return Personal(greeting, unsub, prefs, token)

    def unsubscribe_url(self, subscriber: Subscriber, list_name: str) -> str:
        return self.signer.links(subscriber.id, list_name)[0]

    def preferences_url(self, subscriber: Subscriber, list_name: str) -> str:
        return self.signer.links(subscriber.id, list_name)[1]

    def list_unsubscribe(self, personal: Personal) -> str:
        """``List-Unsubscribe``: the one-click https link, then a mailto: (RFC 2369, RFC 8058)."""
        if self._mailto:
            return f"<{personal.unsubscribe_url}>, <{self._mailto}{personal.token}>"
        return f"<{personal.unsubscribe_url}>"

    def personalize(
        self,
        variant: Variant,
        subscriber: Subscriber,
        key: str,
        list_config: ListConfig,
        now: datetime,
        *,
        parts: bool = True,
    ) -> Message:
        """The complete message for one subscriber, built from a prepared variant.

        ``parts=False``: leave ``Message.text``/``html`` empty (``raw`` is complete);
        for transports that send the MIME bytes (see ``MailBackend.needs_parts``).
        """
        prepared = variant.prepared
        if (
            prepared is None
            or prepared.source[0] is not list_config
            or (
                prepared.source[1] is not variant.subject
                or prepared.source[2] is not variant.html
                or prepared.source[3] is not variant.text
            )
        ):
            prepared = self._prepared_for(variant, list_config)
        if not variant.reader_links:
            fast = prepared.personalizer
            if (
                fast is None
                or fast.renderer is not self
                or fast.list_name != variant.list_name
                or fast.language != variant.language
            ):
                fast = self._personalizer(prepared, variant)
            if fast.usable:
                message = fast.message(
                    subscriber.id, subscriber.email, subscriber.name, key, now, parts
                )
                if message is not None:
                    return message
        name = clean_name(subscriber.name)
        personal = self._personal(subscriber, name, variant.list_name, variant.language)
        email = header_safe(subscriber.email)
        if self._mailto:
            list_unsubscribe = f"<{personal.unsubscribe_url}>, <{self._mailto}{personal.token}>"
        else:
            list_unsubscribe = f"<{personal.unsubscribe_url}>"
        if (
            not variant.reader_links
            and SIMPLE_ADDRESS.fullmatch(email) is not None
            and len(name) <= 200
            and "=?" not in name  # looks like an RFC 2047 word: let the email package decide
            and list_unsubscribe.isascii()
            and len(list_unsubscribe) < 900
        ):
            return prepared.build(key, email, name, personal, list_unsubscribe, now, parts)
        # unusual values (an internationalized address, a huge name), or links that carry
        # the reader (per_reader tracking, an opt-in): the email package
        reader = self.click_links.reader_token(subscriber.id) if variant.reader_links else ""
        return self.email_message(
            list_name=variant.list_name,
            edition_key=variant.edition_key,
            language=variant.language,
            subject=variant.subject,
            text=_fill(variant.text, personal, html=False, reader=reader),
            html=_fill(variant.html, personal, html=True, reader=reader),
            subscriber=subscriber,
            personal=personal,
            key=key,
            list_config=list_config,
            now=now,
        )

    def _personalizer(self, prepared: PreparedMessage, variant: Variant) -> Personalizer:
        """The prepared message's :class:`Personalizer` for this renderer's signer and the
        variant's list and language (made once, kept on the prepared message)."""
        fast = Personalizer(
            prepared,
            self.signer.list_tokens(variant.list_name),
            self.signer.base_url,
            self.greetings(variant.language),
            self._mailto,
            (self, variant.list_name, variant.language),
        )
        prepared.personalizer = fast
        return fast

    # ------------------------------------------------------------ the slow way
    def naive_message(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
        subscriber: Subscriber,
        key: str,
        now: datetime,
    ) -> Message:
        """The reference path: Jinja2, premailer and ``EmailMessage`` for one subscriber."""
        personal = self.personal(subscriber, edition.list_name, edition.language)
        subject, markup, text = self._render_mail(edition, stories, links, list_config, personal)
        if list_config.tracking == "per_reader":
            reader = self.click_links.reader_token(subscriber.id)
            markup = markup.replace(READER_PLACEHOLDER, reader)
            text = text.replace(READER_PLACEHOLDER, reader)
        return self.email_message(
            list_name=edition.list_name,
            edition_key=edition.key,
            language=edition.language,
            subject=subject,
            text=text,
            html=markup,
            subscriber=subscriber,
            personal=personal,
            key=key,
            list_config=list_config,
            now=now,
        )

    def email_message(
        self,
        *,
        list_name: str,
        edition_key: str,
        language: str,
        subject: str,
        text: str,
        html: str,
        subscriber: Subscriber,
        personal: Personal,
        key: str,
        list_config: ListConfig,
        now: datetime,
    ) -> Message:
        """One message built by the ``email`` package (about a millisecond)."""
        sender, addr, domain = self._sender_parts(list_config)
        name = clean_name(subscriber.name)
        # the sending form: an IDN domain in ASCII (the dispatcher has done this already;
        # previews and test sends come here directly)
        try:
            email = sending_form(header_safe(subscriber.email)).address
        except AddressError as err:
            raise RenderError(f"cannot build message for {err.address!r}: {err.reason}") from err
        message_id = message_id_for(key, edition_key, domain)
        # the address and subject headers are encoded by encode_header(): the email
        # package's own folder can lose the space between two RFC 2047 words
        msg = EmailMessage(policy=_RAW_HEADERS)
        shown: dict[str, str] = {}

        def put(header: str, value: str, show: str | None = None) -> None:
            msg.set_raw(header, encode_header(header, value))
            shown[header] = show if show is not None else str(SMTP.header_factory(header, value))

        put("From", sender)
        utf8 = False
        if email.isascii():
            # shown as str() of the parsed header would show it, without parsing a reader's
            # (perhaps 100,000 characters long) name: the email parser is slow on those
            to = display_address(name, email)
            put("To", to, show=to)
        else:
            # an internationalized address (the dispatcher gives the domain in ASCII):
            # a non-ASCII local part is written as UTF-8 (RFC 6532), for SMTPUTF8
            local, _, domain_part = email.rpartition("@")
            if not local or not domain_part:
                raise RenderError(f"cannot build message for {email!r}: not an address")
            utf8 = not local.isascii()
            msg["To"] = Address(display_name=name, username=local, domain=domain_part)
        if list_config.reply_to:
            put("Reply-To", _mailbox(list_config.reply_to))
        put("Subject", subject)
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        put("List-Id", self._list_id(list_name, list_config, domain))
        msg["List-Unsubscribe"] = self.list_unsubscribe(personal)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        # after the body: set_content() clears every Content-* header
        msg["Content-Language"] = language
        try:
            raw = msg.as_bytes(policy=_RAW_HEADERS.clone(utf8=True)) if utf8 else msg.as_bytes()
        except (ValueError, TypeError) as err:
            raise RenderError(f"cannot build message for {email}: {err}") from err
        mime = {"mime-version", "content-type", "content-transfer-encoding"}
        return Message(
            key=key,
            sender=str(Address(addr_spec=addr)),
            recipient=email,
            subject=subject,
            message_id=message_id,
            raw=raw,
            text=text,
            html=html,
            headers=tuple(
                (k, shown[k] if k in shown else str(v))
                for k, v in msg.raw_items()  # not re-parsed: see "To" above
                if k.lower() not in mime
            ),
        )

    # ---------------------------------------------------------------- archive
    def render_archive(
        self,
        edition: Edition,
        stories: Sequence[Story],
        links: Mapping[str, Sequence[ShareLink]],
        list_config: ListConfig,
        story_pages: Mapping[str, str] | None = None,
    ) -> str:
        """The public web page of an edition: every story, no personal part, OG/Twitter tags.

        ``story_pages`` (story id -> URL of its archive page): titles link there.
        """
        ctx = self._context(edition, stories, links, list_config, Personal("", "", "", ""))
        pages = dict(story_pages or {})
        ctx["story_href"] = lambda story: pages.get(story.id, story.url)
        lead = ctx["lead"]
        ctx["page_title"] = f"{ctx['list_title']} · {ctx['date']}" + (
            f": {lead.title}" if lead else ""
        )
        description = (lead.summary_text if lead else "") or ctx["list_description"]
        ctx["description"] = " ".join(description.split())[:300]
        locale = i18n.babel_locale(edition.language)
        ctx["og_locale"] = (
            f"{locale.language}_{locale.territory}" if locale.territory else locale.language
        )
        return self._render("email/archive.html.j2", edition.language, ctx)
