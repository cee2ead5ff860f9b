"""The editor dashboard: login, next editions with preview and test send, "send now",
stories (pin/exclude), social posts, history with a chart, subscribers.

Every POST here needs a CSRF token (Flask-WTF) and every page but the login
form needs a logged-in editor.  Pages with readers' personal data
(subscribers, import, export) need the ``admin`` role.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from markupsafe import Markup
from werkzeug.security import check_password_hash
from wtforms.validators import ValidationError  # type: ignore[import-untyped]

from distributor.errors import DistributorError
from distributor.models import DeliveryState
from distributor.service import readers
from distributor.service import sharing as posts_service
from distributor.service.daily import fetch_now
from distributor.service.readers import EditionFigures, Editor
from distributor.subscribers import read_subscribers_csv
from distributor.text_safety import csv_cell
from distributor.web.chart import history_chart
from distributor.web.common import _offered_match, deps
from distributor.web.editions import (
    find_next,
    next_editions,
    render_for,
    send_now,
    test_send,
)
from distributor.web.i18n import DashboardLanguage, dashboard_languages, tag

bp = Blueprint("editors", __name__)
F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = {"editors.login", "editors.login_form"}
# a hash to check against when the address is unknown, so timing does not tell
_DUMMY_HASH = "scrypt:32768:8:1$abcdefghijklmnop$" + "0" * 128


def _language() -> DashboardLanguage:
    """This request's dashboard language (``web/i18n.py``): Accept-Language among the
    dashboard's catalogs, else the newsroom's default language, else English."""
    if "dashboard_language" not in g:
        offered = list(dashboard_languages())
        best = request.accept_languages.best_match(offered)
        for value, _quality in request.accept_languages if best is None else []:
            best = _offered_match(value, offered)
            if best:
                break
        default = deps().settings.newsroom.default_language
        g.dashboard_language = DashboardLanguage(best or _offered_match(default, offered) or "en")
    return cast(DashboardLanguage, g.dashboard_language)


def _(text: str) -> str:
    """``text`` in this request's dashboard language."""
    return _language().gettext(text)


def _page(template: str, http_status: int = 200, **context: Any) -> Any:
    d = deps()
    language = _language()
    return (
        render_template(
            f"editor/{template}",
            newsroom=d.settings.newsroom,
            editor=g.get("editor"),
            _=language.gettext,
            tag=tag,
            page_lang=language.tag,
            page_dir=language.dir,
            **context,
        ),
        http_status,
    )


@bp.app_template_global("csrf_field")
def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


@bp.before_request
def guard() -> Any:
    """Login first (except the login form), then CSRF on every POST."""
    d = deps()
    editor_id = session.get("editor_id")
    editor = readers.editor(d.ctx, int(editor_id)) if editor_id is not None else None
    if editor is not None and session.get("pw") != editor.password_hash[-16:]:
        editor = None  # the password changed since this session began
    g.editor = editor
    if editor is None and request.endpoint not in PUBLIC:
        if request.method == "GET":
            return redirect(url_for("editors.login_form", next=request.full_path))
        return _page(
            "message.html.j2", http_status=401, title=_("Please log in"), body=_("Log in first.")
        )
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (ValidationError, CSRFError) as err:
            return _page(
                "message.html.j2", http_status=400, title=_("Form expired or forged"), body=str(err)
            )
    return None


def admin_only(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.editor is None or g.editor.role != "admin":
            return _page(
                "message.html.j2", http_status=403, title=_("Admins only"), body=_("Ask an admin.")
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


# ----------------------------------------------------------------------- login
@bp.get("/login")
def login_form() -> Any:
    return _page("login.html.j2", next=request.args.get("next", ""))


@bp.post("/login")
def login() -> Any:
    d = deps()
    client = request.remote_addr or "unknown"
    if not readers.rate_limited_hit(
        d.ctx, f"login:{client}", limit=10, window=timedelta(minutes=15)
    ):
        return _page(
            "login.html.j2",
            http_status=429,
            error=_("Too many attempts; wait 15 minutes."),
            next="",
        )
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    editor = readers.editor_by_email(d.ctx, email)
    ok = check_password_hash(editor.password_hash if editor else _DUMMY_HASH, password)
    if editor is None or not ok:
        return _page("login.html.j2", http_status=401, error=_("Wrong email or password."), next="")
    session.clear()  # a fresh session: nothing carried over from before the login
    session.permanent = True
    session["editor_id"] = editor.id
    session["pw"] = editor.password_hash[-16:]
    readers.editor_logged_in(d.ctx, editor.id)
    target = request.form.get("next", "")
    if not target.startswith("/editor") or target.startswith("//"):
        target = url_for("editors.dashboard")
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("editors.login_form"))


# ------------------------------------------------------------------- dashboard
@bp.get("/")
def dashboard() -> Any:
    d = deps()
    try:
        upcoming = next_editions(d)
        problem = None
    except DistributorError as err:
        upcoming, problem = [], str(err)
    counts = {name: readers.count_by_status(d.ctx, name) for name in d.settings.lists}
    history = readers.edition_figures(d.ctx, limit=14)
    return _page(
        "dashboard.html.j2",
        result=request.args.get("result"),
        lists=d.settings.lists,
        upcoming=upcoming,
        problem=problem,
        counts=counts,
        history=history,
        chart=history_chart(list(reversed(history)), _),
    )


@bp.post("/fetch")
def fetch() -> Any:
    """Fetch every source (and each list's subscribers file) now, so previews are current."""
    d = deps()
    with d.context() as ctx:
        report = fetch_now(ctx)
    problems = "; ".join(f"{p.subject}: {p.cause}" for p in report.errors)
    summary = _("fetched {n} stories").format(n=report.stories_fetched) + (
        _("; errors: {errors}").format(errors=problems) if problems else ""
    )
    return redirect(url_for("editors.dashboard", result=summary))


def _next_or_page(list_name: str, language: str) -> Any:
    """The list's next variant, or a page saying why there is none (never a bare 404)."""
    d = deps()
    if list_name not in d.settings.lists:
        abort(404)
    segment = request.args.get("segment", "")
    ne = find_next(d, list_name, language, segment)
    if ne is None:
        title = d.settings.lists[list_name].title
        body = (
            _(
                "{list} has no new stories in {language} for readers of {segment}: the next "
                "run makes no such edition. The history shows what was sent."
            )
            if segment
            else _(
                "{list} has no new stories in {language}: the next run makes no such "
                "edition. The history shows what was sent."
            )
        )
        return None, _page(
            "message.html.j2",
            http_status=404,
            title=_("Nothing to preview"),
            body=body.format(list=title, language=language, segment=segment),
        )
    return ne, None


@bp.get("/preview/<list_name>/<language>")
def preview(list_name: str, language: str) -> Any:
    ne, page = _next_or_page(list_name, language)
    if page is not None:
        return page
    d = deps()
    editor: Editor = g.editor
    message = render_for(d, ne, _editor_as_reader(editor, language))
    return _page(
        "preview.html.j2",
        ne=ne,
        list=d.settings.lists[list_name],
        subject=message.subject,
        headers=message.headers,
        text=message.text,
        result=request.args.get("result"),
    )


@bp.get("/preview/<list_name>/<language>/html")
def preview_html(list_name: str, language: str) -> Any:
    ne, page = _next_or_page(list_name, language)
    if page is not None:
        return page
    d = deps()
    message = render_for(d, ne, _editor_as_reader(g.editor, language))
    resp = Response(message.html, mimetype="text/html")
    # the digest is shown in a frame of our own page, sandboxed: no scripts, no forms
    resp.headers["Content-Security-Policy"] = (
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
        "img-src https: http: data:; style-src 'unsafe-inline'"
    )
    return resp


@bp.post("/preview/<list_name>/<language>/test")
def preview_test_send(list_name: str, language: str) -> Any:
    ne, page = _next_or_page(list_name, language)
    if page is not None:
        return page
    d = deps()
    editor: Editor = g.editor
    try:
        result = test_send(d, ne, editor.email, editor.email)
        text = (
            _("test sent to {to}").format(to=editor.email)
            if result.state is DeliveryState.SENT
            else _("test not sent: {error}").format(error=result.error)
        )
    except DistributorError as err:
        text = _("test not sent: {error}").format(error=err)
    return redirect(
        url_for(
            "editors.preview",
            list_name=list_name,
            language=language,
            segment=ne.segment or None,
            result=text,
        )
    )


def _editor_as_reader(editor: Editor, language: str) -> Any:
    from distributor.models import Subscriber

    return Subscriber(id=0, email=editor.email, name="", language=language)


# -------------------------------------------------------------------- send now
@bp.get("/send/<list_name>")
def send_form(list_name: str) -> Any:
    d = deps()
    if list_name not in d.settings.lists:
        abort(404)
    upcoming = [ne for ne in next_editions(d) if ne.list_name == list_name]
    pending = sum(
        f.pending
        for f in readers.edition_figures(d.ctx, list_name=list_name, limit=50)
        if f.pending
    )
    return _page(
        "send.html.j2",
        list_name=list_name,
        list=d.settings.lists[list_name],
        upcoming=upcoming,
        recipients=sum(ne.recipients for ne in upcoming),
        pending=pending,
        key=str(uuid.uuid4()),
    )


@bp.post("/send/<list_name>")
def send(list_name: str) -> Any:
    d = deps()
    if list_name not in d.settings.lists:
        abort(404)
    key = request.form.get("idempotency_key", "")
    if not key or len(key) > 200:
        return _page(
            "message.html.j2",
            http_status=400,
            title=_("Missing key"),
            body=_("Reload the send page."),
        )
    outcome = send_now(
        d,
        list_name=list_name,
        idempotency_key=key,
        scope=f"dashboard:{list_name}",
        wait=60.0,  # a double click's second request shows the first one's result
    )
    return _page("sent.html.j2", list_name=list_name, outcome=outcome)


# --------------------------------------------------------------------- stories
@bp.get("/stories")
def stories() -> Any:
    d = deps()
    window = max(c.max_age_hours for c in d.settings.lists.values()) if d.settings.lists else 48
    rows = readers.recent_stories(d.ctx, d.clock() - timedelta(hours=window))
    return _page("stories.html.j2", stories=rows)


@bp.post("/stories/flag")
def flag_story() -> Any:
    d = deps()
    flag = request.form.get("flag")
    if flag not in ("pinned", "excluded"):
        abort(400)
    on = request.form.get("on") == "1"
    if not readers.set_story_flag(
        d.ctx, request.form.get("story_id", ""), "pinned" if flag == "pinned" else "excluded", on
    ):
        abort(404)
    return redirect(url_for("editors.stories"))


# ----------------------------------------------------------------------- posts
@bp.get("/posts")
def posts() -> Any:
    """Recent posts per channel, composed and counted exactly as the pipeline does."""
    by_channel = posts_service.recent(deps().ctx, limit=60)
    return _page("posts.html.j2", by_channel=by_channel)


@bp.get("/cards/<path:name>")
def card_image(name: str) -> Any:
    return send_from_directory(deps().settings.data_path("cards"), name)


# --------------------------------------------------------------------- history
@bp.get("/history")
def history() -> Any:
    d = deps()
    rows: list[EditionFigures] = readers.edition_figures(
        d.ctx, list_name=request.args.get("list") or None, limit=100
    )
    return _page("history.html.j2", rows=rows, chart=history_chart(list(reversed(rows[:30])), _))


# ----------------------------------------------------------------- subscribers
@bp.get("/subscribers")
@admin_only
def subscribers() -> Any:
    d = deps()
    q = request.args.get("q", "").strip()
    status = request.args.get("status") or None
    rows = readers.entries(d.ctx, query=q or None, status=status, limit=200)
    return _page(
        "subscribers.html.j2",
        rows=rows,
        q=q,
        status=status or "",
        lists=d.settings.lists,
        report=None,
    )


@bp.post("/subscribers/import")
@admin_only
def subscribers_import() -> Any:
    d = deps()
    list_name = request.form.get("list", "")
    upload = request.files.get("file")
    if list_name not in d.settings.lists or upload is None:
        return _page(
            "message.html.j2",
            http_status=400,
            title=_("Import"),
            body=_("Choose a list and a CSV file."),
        )
    tmp = d.settings.data_path(f"tmp/import-{secrets.token_hex(8)}.csv")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    upload.save(str(tmp))
    try:
        good, rejected = read_subscribers_csv(
            tmp, default_language=d.settings.newsroom.default_language
        )
    except DistributorError as err:
        return _page("message.html.j2", http_status=400, title=_("Import"), body=str(err))
    finally:
        tmp.unlink(missing_ok=True)
    result = readers.import_rows(d.ctx, list_name, good)
    report = {
        "added": result.added,
        "kept": result.kept,
        "rejected": [(r.line, r.value, r.reason) for r in rejected]
        + [(0, email, reason) for email, reason in result.refused],
    }
    rows = readers.entries(d.ctx, limit=200)
    return _page(
        "subscribers.html.j2", rows=rows, q="", status="", lists=d.settings.lists, report=report
    )


@bp.get("/subscribers/export.csv")
@admin_only
def subscribers_export() -> Any:
    d = deps()
    buf = io.StringIO()
    write_csv(buf, readers.entries(d.ctx, list_name=request.args.get("list") or None))
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=subscribers.csv"},
    )


def write_csv(out: Any, entries: Any) -> None:
    """Subscribers as CSV, in the import format plus list, status and frequency.

    Every cell goes through :func:`distributor.text_safety.csv_cell` (no formula
    injection when the file is opened in a spreadsheet; the import undoes it)."""
    writer = csv.writer(out)
    writer.writerow(
        ["email", "name", "language", "timezone", "topics", "frequency", "list", "status"]
    )
    for e in entries:
        writer.writerow(
            csv_cell(cell)
            for cell in [
                e.email,
                e.name,
                e.language,
                e.timezone or "",
                ";".join(e.topics),
                e.frequency,
                e.list_name,
                e.status,
            ]
        )


# the editions pages (issue 14) and the social queue (issue 18), on this blueprint
from distributor.web import editor_editions, editor_posts  # noqa: E402, F401
