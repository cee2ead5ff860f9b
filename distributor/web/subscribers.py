"""Reader pages: sign-up with double opt-in, confirm, preference center, unsubscribe.

The unsubscribe (``/u/<token>``) and preference (``/p/<token>``) URLs are the
ones every digest carries (``distributor.render.digest``).  The signed token
is the only authorization: no login, no cookie, no CSRF token.  A GET never
changes anything (mail scanners follow links); a POST to ``/u/<token>`` (the
RFC 8058 one-click ``List-Unsubscribe=One-Click``, or the page's button)
unsubscribes at once.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, abort, request, url_for

from distributor.errors import DistributorError
from distributor.models import DeliveryState, Subscriber
from distributor.service import languages as digest_i18n
from distributor.service import readers
from distributor.service.languages import normalize_language
from distributor.service.readers import (
    FREQUENCIES,
    SUPPRESSED,
    Preferences,
    email_hash,
    preferences_from,
)
from distributor.tokens import TokenExpired, TokenSubject
from distributor.web.common import deps, message_page, page_languages, reader_language, render_page
from distributor.web.confirmation import confirmation_message, send_one
from distributor.web.i18n import strings_for

bp = Blueprint("subscribers", __name__)
log = logging.getLogger(__name__)
HONEYPOT = "website"
HOUR = timedelta(hours=1)


@bp.after_request
def private(response: Any) -> Any:
    """Pages reached by a signed link: never cached, never framed, never leak the link."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def language_name(tag: str) -> str:
    """A language's name in itself (``fr`` -> ``français``), for the language menu."""
    locale = digest_i18n.babel_locale(tag)
    name = locale.get_display_name(locale) or tag
    return name[:1].upper() + name[1:]


def _timezones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def _list_name(value: str | None) -> str:
    lists = deps().settings.lists
    if value in lists:
        return str(value)
    if value:
        abort(404)
    return next(iter(lists))


def _form_context(list_name: str, form: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    settings = deps().settings
    languages = page_languages(settings)
    current = form.get("language")
    if current and current not in languages:  # a reader's own language stays selectable
        languages = [*languages, current]
    return {
        "list_name": list_name,
        "list": settings.lists[list_name],
        "lists": settings.lists,
        "languages": languages,
        "language_names": {tag: language_name(tag) for tag in languages},
        "topics": settings.web.topics,
        "frequencies": FREQUENCIES,
        "timezones": _timezones(),
        "form": form,
        "errors": errors,
        "honeypot": HONEYPOT,
    }


@bp.get("/subscribe")
def signup_form() -> Any:
    lang = reader_language()
    list_name = _list_name(request.args.get("list"))
    form = {"language": lang, "frequency": "daily", "timezone": "", "topics": []}
    return render_page("signup.html.j2", lang=lang, **_form_context(list_name, form, []))


@bp.post("/subscribe")
def signup() -> Any:
    d = deps()
    settings, now = d.settings, d.clock()
    lang = reader_language(request.form.get("language"))
    t = strings_for(lang)
    list_name = _list_name(request.form.get("list"))
    list_title = settings.lists[list_name].title_in(lang)
    form: dict[str, Any] = {
        "email": request.form.get("email", "").strip(),
        "name": " ".join(request.form.get("name", "").split())[:200],
        "language": request.form.get("language", lang),
        "frequency": request.form.get("frequency", "daily"),
        "timezone": request.form.get("timezone", "").strip(),
        "topics": request.form.getlist("topics"),
    }
    errors: list[str] = []
    try:
        email = validate_email(form["email"], check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        errors.append(t["invalid_email"].format(reason=str(err)))
        email = ""
    offered = {normalize_language(x) for x in page_languages(settings)}
    if normalize_language(form["language"] or "x") not in offered:
        errors.append(t["invalid_field"].format(field=t["language"]))
    if form["frequency"] not in FREQUENCIES:
        errors.append(t["invalid_field"].format(field=t["frequency"]))
    if form["timezone"]:
        try:
            ZoneInfo(form["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(t["invalid_field"].format(field=t["timezone"]))
    if any(topic not in settings.web.topics for topic in form["topics"]):
        errors.append(t["invalid_field"].format(field=t["topics"]))
    if errors:
        return render_page(
            "signup.html.j2", lang=lang, status=400, **_form_context(list_name, form, errors)
        )

    checked = message_page("check_title", "check_body", lang=lang, email=email, list=list_title)
    if request.form.get(HONEYPOT):
        return checked  # a bot: look the same, send nothing
    client = request.remote_addr or "unknown"
    if not readers.rate_limited_hit(
        d.ctx,
        f"signup:client:{client}",
        limit=settings.web.signup_limit_per_client,
        window=HOUR,
    ) or not readers.rate_limited_hit(
        d.ctx,
        f"signup:address:{email_hash(email)}",
        limit=settings.web.signup_limit_per_address,
        window=HOUR,
    ):
        return message_page("too_many_title", "too_many_body", lang=lang, status=429)

    reason = readers.suppression_reason(d.ctx, email)
    if reason is not None and reason != "forgotten":
        return checked  # never mail a suppressed address; say the same as always
    prefs = Preferences(
        language=normalize_language(form["language"]),
        timezone=form["timezone"] or None,
        topics=tuple(form["topics"]),
        frequency=form["frequency"],
        name=form["name"],
    )
    sid, before = readers.start_signup(d.ctx, list_name, email, prefs)
    if before == "subscribed":
        return checked
    token = d.tokens.make_confirmation(
        sid,
        list_name,
        {
            "language": prefs.language,
            "timezone": prefs.timezone,
            "topics": list(prefs.topics),
            "frequency": prefs.frequency,
            "name": prefs.name,
        },
    )
    url = f"{settings.web.base_url.rstrip('/')}{url_for('subscribers.confirm_page', token=token)}"
    cfg = settings.lists[list_name]
    message = confirmation_message(
        list_name=list_name,
        list_config=cfg,
        email=email,
        url=url,
        language=prefs.language,
        hours=settings.web.confirm_max_age_hours,
        now=now,
        key=f"confirm/{list_name}/{sid}-{int(now.timestamp())}-{secrets.token_hex(4)}",
    )
    try:
        result = send_one(settings, cfg.mail, message)
    except DistributorError as err:
        log.warning("confirmation mail for list %s not sent: %s", list_name, err)
        return message_page("unavailable_title", "unavailable_body", lang=lang, status=503)
    if result.state is not DeliveryState.SENT:
        log.warning("confirmation mail for list %s: %s", list_name, result.error)
    return checked


def _confirmation(token: str) -> Any:
    d = deps()
    hours = d.settings.web.confirm_max_age_hours
    try:
        conf = d.tokens.read_confirmation(token, max_age=hours * 3600)
    except TokenExpired:
        lang = reader_language()
        return None, message_page(
            "expired_title", "expired_body", lang=lang, status=410, hours=str(hours)
        )
    if conf is None or conf.list_name not in d.settings.lists:
        return None, message_page(
            "bad_link_title", "bad_link_body", lang=reader_language(), status=400
        )
    sub = readers.subscriber(d.ctx, conf.subscriber_id)
    if sub is None:
        return None, message_page(
            "bad_link_title", "bad_link_body", lang=reader_language(), status=400
        )
    return (conf, sub), None


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> Any:
    found, error = _confirmation(token)
    if error is not None:
        return error
    conf, sub = found
    lang = reader_language(conf.preferences.get("language"))
    return render_page(
        "confirm.html.j2",
        lang=lang,
        email=sub.email,
        list=deps().settings.lists[conf.list_name],
        action=url_for("subscribers.confirm", token=token),
    )


@bp.post("/confirm/<token>")
def confirm(token: str) -> Any:
    found, error = _confirmation(token)
    if error is not None:
        return error
    conf, sub = found
    d = deps()
    lang = reader_language(conf.preferences.get("language"))
    current = Preferences(
        sub.language, sub.timezone, sub.topics, readers.frequency(d.ctx, sub.id), sub.name
    )
    if readers.suppression_reason(d.ctx, sub.email) == "forgotten":
        readers.lift_forgotten(d.ctx, sub.email)  # the reader came back and confirmed again
    outcome = readers.confirm(
        d.ctx, sub.id, conf.list_name, preferences_from(conf.preferences, current)
    )
    title = d.settings.lists[conf.list_name].title_in(lang)
    if outcome == SUPPRESSED:
        return message_page("suppressed_title", "suppressed_body", lang=lang, status=403)
    return message_page("confirmed_title", "confirmed_body", lang=lang, email=sub.email, list=title)


def _subject(purpose: str, token: str) -> tuple[TokenSubject, Subscriber] | None:
    d = deps()
    subject = d.tokens.read(purpose, token)  # type: ignore[arg-type]
    if subject is None or subject.list_name not in d.settings.lists:
        return None
    sub = readers.subscriber(d.ctx, subject.subscriber_id)
    if sub is None or sub.email.endswith("@invalid"):  # forgotten: nothing left to show
        return None
    return subject, sub


@bp.get("/u/<token>")
def unsubscribe_page(token: str) -> Any:
    found = _subject("unsubscribe", token)
    if found is None:
        return message_page("bad_link_title", "bad_link_body", lang=reader_language(), status=400)
    subject, sub = found
    lang = reader_language(sub.language)
    return render_page(
        "unsubscribe.html.j2",
        lang=lang,
        email=sub.email,
        list=deps().settings.lists[subject.list_name],
        action=url_for("subscribers.unsubscribe", token=token),
    )


@bp.post("/u/<token>")
def unsubscribe(token: str) -> Any:
    """RFC 8058 one-click: a POST with a valid token unsubscribes, no cookie or CSRF needed."""
    found = _subject("unsubscribe", token)
    if found is None:
        return message_page("bad_link_title", "bad_link_body", lang=reader_language(), status=400)
    subject, sub = found
    d = deps()
    readers.unsubscribe(d.ctx, sub.id, subject.list_name)
    lang = reader_language(sub.language)
    page = render_page(
        "unsubscribed.html.j2",
        lang=lang,
        email=sub.email,
        list=d.settings.lists[subject.list_name],
        preferences_url=url_for(
            "subscribers.preferences",
            token=d.tokens.make("preferences", sub.id, subject.list_name),
        ),
    )
    return page


def _preferences_page(token: str, subject: TokenSubject, sub: Subscriber, **extra: Any) -> Any:
    d = deps()
    status = readers.membership(d.ctx, sub.id, subject.list_name) or "unsubscribed"
    if readers.suppression_reason(d.ctx, sub.email) is not None:
        status = SUPPRESSED
    lang = reader_language(sub.language)
    form = {
        "email": sub.email,
        "name": sub.name,
        "language": sub.language,
        "timezone": sub.timezone or "",
        "topics": list(sub.topics),
        "frequency": readers.frequency(d.ctx, sub.id),
    }
    ctx = _form_context(subject.list_name, form, extra.pop("errors", []))
    return render_page(
        "preferences.html.j2",
        lang=lang,
        status=extra.pop("http_status", 200),
        token=token,
        status_text=strings_for(lang)[f"status_{status}"],
        subscribed=status == "subscribed",
        suppressed=status == SUPPRESSED,
        action=url_for("subscribers.preferences", token=token),
        **ctx,
        **extra,
    )


@bp.get("/p/<token>")
def preferences_page(token: str) -> Any:
    found = _subject("preferences", token)
    if found is None:
        return message_page("bad_link_title", "bad_link_body", lang=reader_language(), status=400)
    return _preferences_page(token, *found)


@bp.post("/p/<token>")
def preferences(token: str) -> Any:
    found = _subject("preferences", token)
    if found is None:
        return message_page("bad_link_title", "bad_link_body", lang=reader_language(), status=400)
    subject, sub = found
    d = deps()
    action = request.form.get("action", "save")
    if action == "unsubscribe":
        readers.unsubscribe(d.ctx, sub.id, subject.list_name)
        return _preferences_page(token, subject, sub)
    if action == "resubscribe":
        # the signed link was mailed to this address: that is the confirmation
        if readers.confirm(d.ctx, sub.id, subject.list_name, None) == SUPPRESSED:
            return message_page(
                "suppressed_title",
                "suppressed_body",
                lang=reader_language(sub.language),
                status=403,
            )
        return _preferences_page(token, subject, sub)
    t = strings_for(reader_language(sub.language))
    language = request.form.get("language", sub.language)
    frequency = request.form.get("frequency", "daily")
    tz = request.form.get("timezone", "").strip()
    topics = request.form.getlist("topics")
    errors = []
    if normalize_language(language or "x") not in {
        normalize_language(x) for x in [*page_languages(d.settings), sub.language]
    }:
        errors.append(t["invalid_field"].format(field=t["language"]))
    if frequency not in FREQUENCIES:
        errors.append(t["invalid_field"].format(field=t["frequency"]))
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(t["invalid_field"].format(field=t["timezone"]))
    if any(x not in d.settings.web.topics for x in topics):
        errors.append(t["invalid_field"].format(field=t["topics"]))
    if errors:
        return _preferences_page(token, subject, sub, errors=errors, http_status=400)
    name = " ".join(request.form.get("name", "").split())[:200]
    readers.update_preferences(
        d.ctx,
        sub.id,
        Preferences(normalize_language(language), tz or None, tuple(topics), frequency, name),
    )
    fresh = readers.subscriber(d.ctx, sub.id) or sub
    return _preferences_page(token, subject, fresh, saved=True)
