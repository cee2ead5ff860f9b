"""The dashboard's reach pages (issue 17): ``/editor/stats`` (editions with delivered,
unique readers, click rate) and ``/editor/stats/<list>/<key>`` (per language, top
stories, share clicks per network, clicks over the first 48 hours).  Each route calls
:mod:`distributor.service.stats`.
"""

from __future__ import annotations

from typing import Any

from flask import request

from distributor.errors import NotFoundError
from distributor.service import stats as service
from distributor.web.chart import hourly_chart
from distributor.web.clicks import recorder
from distributor.web.common import deps
from distributor.web.editors import _, _page, bp


@bp.get("/stats")
def stats() -> Any:
    d = deps()
    list_name = request.args.get("list") or None
    with d.context() as ctx:
        rows = service.editions(ctx, list_name=list_name, limit=30, recorder=recorder())
    return _page("stats.html.j2", editions=rows, lists=sorted(d.settings.lists))


@bp.get("/stats/<list_name>/<key>")
def stats_edition(list_name: str, key: str) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            found = service.edition(ctx, list_name, key, recorder=recorder())
    except NotFoundError as err:
        return _page("message.html.j2", http_status=404, title=_("No such edition"), body=str(err))
    return _page(
        "stats_edition.html.j2",
        edition=found,
        languages=found.languages(),
        top=found.top_stories(),
        chart=hourly_chart(found.hourly, _),
        opens_note=service.OPENS_NOTE,
    )
