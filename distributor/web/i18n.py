"""Strings of the reader-facing pages (sign-up, confirm, preferences, unsubscribe)
and of the confirmation mail.

``EN`` holds each string's key and its English text.  The translations live in
the gettext catalogs ``distributor/render/locale/<lang>/LC_MESSAGES/web.po``
(Babel), one entry per key: ``msgctxt`` is the key, ``msgid`` the English text
(so one English word can have two translations, as ``Unsubscribe`` the title
and the button).  A string a catalog lacks falls back to English; a test fails
when a catalog lacks one.  The strings take ``str.format`` placeholders
(``{list}``, ``{email}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup, escape

from distributor.service.languages import (
    DASHBOARD_DOMAIN,
    WEB_DOMAIN,
    Catalogs,
    catalog_languages,
    direction,
)

EN: dict[str, str] = {
    "signup_title": "Subscribe to {list}",
    "signup_intro": "Get the stories of {newsroom} by email.",
    "email": "Email address",
    "name": "Name (optional)",
    "language": "Language",
    "topics": "Topics",
    "topics_all": "Leave empty to get every topic.",
    "frequency": "How often",
    "daily": "Daily",
    "weekly": "Weekly",
    "timezone": "Time zone",
    "list": "Newsletter",
    "subscribe": "Subscribe",
    "honeypot": "Leave this field empty",
    "check_title": "Check your inbox",
    "check_body": "If {email} can subscribe, a confirmation email is on its way. "
    "Open the link in it to start receiving {list}.",
    "invalid_email": "This email address is not valid: {reason}",
    "invalid_field": "Please check this field: {field}",
    "too_many_title": "Too many requests",
    "too_many_body": "Too many sign-ups were requested. Please try again in an hour.",
    "unavailable_title": "Please try again later",
    "unavailable_body": "We could not send the confirmation email just now. "
    "Please try again in a few minutes.",
    "confirm_title": "Confirm your subscription",
    "confirm_body": "Confirm that {email} wants to receive {list}.",
    "confirm_button": "Confirm my subscription",
    "confirmed_title": "You are subscribed",
    "confirmed_body": "Thank you: {email} will receive {list}.",
    "suppressed_title": "We cannot subscribe this address",
    "suppressed_body": "This address cannot receive our emails. Please contact us.",
    "bad_link_title": "This link is not valid",
    "bad_link_body": "The link is incomplete or was changed. Please use the link from "
    "your email exactly as it is, or sign up again.",
    "expired_title": "This link has expired",
    "expired_body": "Confirmation links are valid for {hours} hours. Please sign up again.",
    "unsub_title": "Unsubscribe",
    "unsub_body": "Stop sending {list} to {email}?",
    "unsub_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed_body": "{email} will no longer receive {list}.",
    "resubscribe": "Subscribe again",
    "prefs_title": "Your preferences",
    "prefs_body": "Settings for {email} on {list}.",
    "prefs_status": "Status: {status}",
    "save": "Save",
    "saved": "Your preferences are saved.",
    "status_subscribed": "subscribed",
    "status_unsubscribed": "unsubscribed",
    "status_pending": "waiting for confirmation",
    "status_suppressed": "blocked",
    "confirm_mail_subject": "Confirm your subscription to {list}",
    "confirm_mail_body": "Someone, hopefully you, asked to subscribe {email} to {list}.\n\n"
    "To confirm, open this link (valid for {hours} hours):\n\n{url}\n\n"
    "If it was not you, ignore this email: nothing more will be sent.",
}

_CATALOGS = Catalogs(domain=WEB_DOMAIN)


@cache
def _strings(tag: str) -> dict[str, str]:
    translations = _CATALOGS.translations(tag)
    return {key: str(translations.pgettext(key, english)) for key, english in EN.items()}


def strings_for(tag: str) -> dict[str, str]:
    """Every page string in ``tag``'s language, English where a translation is missing."""
    return dict(_strings(tag or "en"))


def fmt(text: str, **values: Any) -> Markup:
    """``text.format(**values)`` for an HTML page: the text escaped, each value escaped
    and isolated in ``<bdi>`` (an address or an English list title in an Arabic
    sentence keeps its own direction and does not reorder the sentence around it)."""
    return escape(text).format(**{k: Markup("<bdi>{0}</bdi>").format(v) for k, v in values.items()})


# ------------------------------------------------------------------ the dashboard
# The editor dashboard speaks the editor's language: the browser's Accept-Language among
# the languages with a ``dashboard.po`` catalog (``msgid`` is the English text), else the
# newsroom's default language when it has one, else English (``editors._language``). Its
# pages get ``_()`` and their ``lang``/``dir``. A string a catalog lacks stays English; a
# test fails when a catalog lacks one that the editor templates use.
_DASHBOARD = Catalogs(domain=DASHBOARD_DOMAIN)


@cache
def dashboard_languages() -> tuple[str, ...]:
    """English and every language with a dashboard catalog."""
    return tuple(dict.fromkeys(["en", *catalog_languages(domain=DASHBOARD_DOMAIN)]))


@dataclass(frozen=True)
class DashboardLanguage:
    """One dashboard page's language: its tag, direction and gettext."""

    tag: str

    @property
    def dir(self) -> str:
        return direction(self.tag)

    def gettext(self, text: str, /, **values: Any) -> str:
        """``text`` in this language; with ``values``, a page's markup: the text escaped and
        ``{name}`` filled with each value escaped (isolated in ``<bdi>`` on a right-to-left
        page, so an English name or a number keeps its place in an Arabic sentence)."""
        translated = str(_DASHBOARD.translations(self.tag).gettext(text))
        if not values:
            return translated
        if self.dir == "rtl":
            return fmt(translated, **values)
        return escape(translated).format(**values)


def tag(name: str, text: object, **attrs: object) -> Markup:
    """``<name attrs>text</name>`` with the text and every attribute escaped: a piece of
    markup to fill into a translated sentence (``_("Columns {c}.", c=tag("code", ...))``)."""
    attributes = Markup("").join(Markup(' {}="{}"').format(k, v) for k, v in attrs.items())
    return Markup("<{0}{1}>{2}</{0}>").format(Markup(name), attributes, text)
