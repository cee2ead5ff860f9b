"""The dashboard's editions (issue 14): the upcoming editions of each list, the edition
editor (order, intro, subject, stories), approve / schedule / cancel / send with a
confirm step, previews and test sends.  Each route calls one function of
:mod:`distributor.service.editions`; every POST carries the CSRF token (checked in
``editors.guard``) and the version the editor saw.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, g, redirect, request, url_for

from distributor.errors import DistributorError, EditionError
from distributor.service import daily
from distributor.service import editions as service
from distributor.web.common import deps
from distributor.web.editors import _, _page, bp


def _who() -> str:
    return str(g.editor.email)


def _back(edition_id: int, *, result: str = "", problem: str = "") -> Any:
    return redirect(
        url_for(
            "editors.edition_page",
            edition_id=edition_id,
            result=result or None,
            problem=problem or None,
        )
    )


@bp.get("/editions")
def editions() -> Any:
    d = deps()
    with d.context() as ctx:
        paused = service.paused_lists(ctx)
        lists = {}
        for name, cfg in d.settings.lists.items():
            slot = service.next_slot(ctx, name)
            zone = ZoneInfo(cfg.timezone)
            desk = service.desk_zone(ctx, name)
            lists[name] = {
                "title": cfg.title,
                "approval": cfg.approval,
                "timezone": cfg.timezone,
                "desk_timezone": str(desk) if str(desk) != cfg.timezone else "",
                "next_slot": slot,
                "next_local": slot.astimezone(zone).strftime("%a %d %b %H:%M") if slot else "",
                "next_desk": slot.astimezone(desk).strftime("%a %d %b %H:%M") if slot else "",
                "next_utc": slot.strftime("%H:%M") if slot else "",
                "paused": name in paused,
            }
        rows = [service.describe(ctx, e) for e in service.listing(ctx, limit=60)]
    return _page(
        "editions.html.j2",
        lists=lists,
        editions=rows,
        result=request.args.get("result"),
        problem=request.args.get("problem"),
    )


@bp.post("/editions/draft/<list_name>")
def edition_draft(list_name: str) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            made = service.draft(ctx, list_name, by=_who(), fetch=True)
    except DistributorError as err:
        return redirect(url_for("editors.editions", problem=str(err)))
    return _back(made.id, result=_("drafted"))


@bp.get("/editions/<int:edition_id>")
def edition_page(edition_id: int) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            edition = service.get(ctx, edition_id)
            data = service.describe(ctx, edition)
            log = service.changes(ctx, edition_id)
            cfg = d.settings.lists.get(edition.list_name)
            candidates = service.candidates(ctx, edition.list_name) if cfg else []
    except DistributorError as err:
        return _page("message.html.j2", http_status=404, title=_("No such edition"), body=str(err))
    languages = sorted({v["language"] for v in data["variants"]})
    return _page(
        "edition.html.j2",
        e=data,
        open=edition.state in ("draft", "approved", "scheduled"),
        languages=languages,
        dirs={lang: service.text_direction(lang) for lang in languages},
        changes=log,
        candidates=candidates,
        desk=", ".join(cfg.test_recipients) if cfg else "",
        result=request.args.get("result"),
        problem=request.args.get("problem"),
    )


@bp.post("/editions/<int:edition_id>/save")
def edition_save(edition_id: int) -> Any:
    d = deps()
    form = request.form
    intros = {k[len("intro_") :]: v for k, v in form.items() if k.startswith("intro_")}
    intros.pop("fallback", None)
    subjects = {k[len("subject_") :]: v for k, v in form.items() if k.startswith("subject_")}
    changes = service.Changes(
        pin=[form["pin"]] if form.get("pin") else [],
        remove=[form["remove"]] if form.get("remove") else [],
        add=[form["add"].strip()] if form.get("add", "").strip() else [],
        intros=intros if form.get("save") else None,
        subjects=subjects if form.get("save") else None,
        intro_fallback=bool(form.get("intro_fallback")) if form.get("save") else None,
    )
    try:
        with d.context() as ctx:
            service.update(ctx, edition_id, version=_form_version(), changes=changes, by=_who())
    except DistributorError as err:
        return _back(edition_id, problem=str(err))
    return _back(edition_id, result=_("saved"))


def _form_version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError as err:
        raise EditionError("the form has no version: reload the page") from err


@bp.get("/editions/<int:edition_id>/confirm")
def edition_confirm(edition_id: int) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            data = service.describe(ctx, service.get(ctx, edition_id))
    except DistributorError as err:
        return _page("message.html.j2", http_status=404, title=_("No such edition"), body=str(err))
    if not data["recipients"]:
        return _page(
            "message.html.j2",
            http_status=409,
            title=_("Nothing to send"),
            body=_("Edition {id} has no recipients: there is nobody to send it to.").format(
                id=edition_id
            ),
        )
    return _page("edition_confirm.html.j2", e=data, key=str(uuid.uuid4()))


@bp.post("/editions/<int:edition_id>/<action>")
def edition_action(edition_id: int, action: str) -> Any:
    d = deps()
    form = request.form
    try:
        with d.context() as ctx:
            version = _form_version()
            if action == "approve":
                service.approve(ctx, edition_id, version=version, by=_who())
            elif action == "cancel":
                service.cancel(ctx, edition_id, version=version, by=_who(), reason="dashboard")
            elif action == "schedule":
                edition = service.get(ctx, edition_id)
                when = service.desk_time(ctx, edition.list_name, form.get("at", ""))
                service.schedule(ctx, edition_id, version=version, send_at=when, by=_who())
            elif action == "send":
                key = form.get("idempotency_key", "")
                if not key or len(key) > 200:
                    raise EditionError("the form has no key: reload the confirm page")
                social = bool(form.get("social"))

                def send() -> dict[str, Any]:
                    out = service.send_now(
                        ctx, edition_id, version=version, by=_who(), social=social
                    )
                    return {"state": str(out.edition.state), "sent": out.report.emails.sent}

                done = daily.once(
                    ctx,
                    scope=f"dashboard-edition:{edition_id}",
                    key=key,
                    request={"edition": edition_id, "social": social},
                    action=send,
                    wait=60.0,
                )
                sent = (done.response or {}).get("sent", 0)
                return _back(edition_id, result=_("sent to {n} recipients").format(n=sent))
            else:
                return Response("unknown action", status=404)
    except DistributorError as err:
        return _back(edition_id, problem=str(err))
    done_text = {"approve": _("approved"), "schedule": _("scheduled"), "cancel": _("cancelled")}
    return _back(edition_id, result=done_text.get(action, f"{action}d"))


@bp.post("/editions/<int:edition_id>/test")
def edition_test(edition_id: int) -> Any:
    d = deps()
    typed = [a.strip() for a in request.form.get("addresses", "").split(",") if a.strip()]
    try:
        with d.context() as ctx:
            out = service.test_send(
                ctx,
                edition_id,
                addresses=typed,
                language=request.form.get("language") or None,
                by=_who(),
            )
    except DistributorError as err:
        return _back(edition_id, problem=_("test not sent: {error}").format(error=err))
    if not out.ok:
        errors = "; ".join(r.error or "" for r in out.results if r.state != "sent")
        return _back(edition_id, problem=_("test not sent: {error}").format(error=errors))
    return _back(edition_id, result=_("test sent to {to}").format(to=", ".join(out.addresses)))


@bp.get("/editions/<int:edition_id>/preview/<language>")
def edition_preview(edition_id: int, language: str) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            shown = service.preview(
                ctx, edition_id, language=language, segment=request.args.get("segment", "")
            )
    except DistributorError as err:
        return _page("message.html.j2", http_status=404, title=_("No preview"), body=str(err))
    resp = Response(shown.message.html, mimetype="text/html")
    # the digest is shown sandboxed: no scripts, no forms
    resp.headers["Content-Security-Policy"] = (
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
        "img-src https: http: data:; style-src 'unsafe-inline'"
    )
    return resp
