"""The dashboard: login, CSRF on every form, roles, preview, test send, send now, stories,
posts, history, subscribers."""

from __future__ import annotations

import re

from distributor.pipeline import run
from distributor.service import Context
from tests.web.conftest import WebEnv, csrf, decoded, read_mail


def _form_token(env: WebEnv, page: str) -> str:
    return csrf(env.client, page)


def test_pages_need_a_login(env: WebEnv) -> None:
    for page in (
        "/editor/",
        "/editor/stories",
        "/editor/posts",
        "/editor/history",
        "/editor/subscribers",
        "/editor/send/daily",
        "/editor/preview/daily/en",
    ):
        reply = env.client.get(page)
        assert reply.status_code == 302 and "/editor/login" in reply.headers["Location"], page
    env.import_sample()
    for page in (
        "/editor/send/daily",
        "/editor/preview/daily/en/test",
        "/editor/stories/flag",
        "/editor/subscribers/import",
    ):
        reply = env.client.post(page, data={"idempotency_key": "k"})
        assert reply.status_code == 401, page
    assert env.outbox() == [] and env.store.delivery_counts([1]).sent == 0


def test_login_sets_a_hardened_cookie_and_wrong_passwords_fail(env: WebEnv) -> None:
    password = env.add_editor()
    bad = env.client.post(
        "/editor/login",
        data={"email": "editor@news.example", "password": "nope", "csrf_token": csrf(env.client)},
    )
    assert bad.status_code == 401
    unknown = env.client.post(
        "/editor/login",
        data={"email": "who@news.example", "password": password, "csrf_token": csrf(env.client)},
    )
    assert unknown.status_code == 401
    no_csrf = env.client.post(
        "/editor/login", data={"email": "editor@news.example", "password": password}
    )
    assert no_csrf.status_code == 400
    ok = env.client.post(
        "/editor/login",
        data={"email": "editor@news.example", "password": password, "csrf_token": csrf(env.client)},
    )
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # base_url is https
    assert env.client.get("/editor/").status_code == 200
    # logging out needs the CSRF token too
    assert env.client.post("/editor/logout").status_code == 400
    assert env.client.get("/editor/").status_code == 200
    env.client.post("/editor/logout", data={"csrf_token": csrf(env.client, "/editor/")})
    assert env.client.get("/editor/").status_code == 302


def test_login_is_rate_limited(env: WebEnv) -> None:
    env.add_editor()
    for _ in range(10):
        env.client.post(
            "/editor/login",
            data={
                "email": "editor@news.example",
                "password": "guess",
                "csrf_token": csrf(env.client),
            },
        )
    reply = env.client.post(
        "/editor/login",
        data={"email": "editor@news.example", "password": "guess", "csrf_token": csrf(env.client)},
    )
    assert reply.status_code == 429


def test_preview_is_the_pipeline_rendering_and_test_send_goes_to_the_editor(env: WebEnv) -> None:
    env.login()
    token = _form_token(env, "/editor/")
    assert env.client.post("/editor/fetch").status_code == 400
    fetched = env.client.post("/editor/fetch", data={"csrf_token": token})
    assert fetched.status_code == 302 and "fetched+24+stories" in fetched.headers["Location"]
    home = env.client.get("/editor/").get_data(as_text=True)
    assert "/editor/preview/daily/en" in home and "/editor/preview/daily/ar" in home
    page = env.client.get("/editor/preview/daily/ar")
    assert page.status_code == 200
    html = env.client.get("/editor/preview/daily/ar/html")
    assert html.status_code == 200 and "sandbox" in html.headers["Content-Security-Policy"]
    body = html.get_data(as_text=True)
    assert 'dir="rtl"' in body and "إلغاء الاشتراك" in body

    no_csrf = env.client.post("/editor/preview/daily/ar/test")
    assert no_csrf.status_code == 400
    wrong = env.client.post("/editor/preview/daily/ar/test", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    assert env.outbox("test/") == []

    token = _form_token(env, "/editor/preview/daily/ar")
    sent = env.client.post("/editor/preview/daily/ar/test", data={"csrf_token": token})
    assert sent.status_code == 302 and "test+sent" in sent.headers["Location"]
    mails = env.outbox("test/")
    assert len(mails) == 1
    mail = read_mail(mails[0])
    assert mail["To"] == "editor@news.example" and mail["Subject"].startswith("[TEST] ")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the same stories, in the same order, as the real edition the run then makes
    preview_titles = re.findall(
        r'class="(?:lead-title|story-title)"[^>]*>\s*<a [^>]*>([^<]+)<',
        decoded(mails[0].read_bytes()),
    )
    with Context.open(env.settings, store=env.store, clock=env.clock) as ctx:
        run(ctx, list_names=["daily"])
    real = sorted(env.outbox("daily/"), key=lambda p: p.name)
    # the preview shows the edition of readers without topics (segment ""): compare
    # with the mail of such a reader, not one of a topic segment
    plain_ids = {
        str(s.id) for s in env.store.recipients("daily") if s.language == "ar" and not s.topics
    }
    ar = [p for p in real if "/ar/" in str(p) and p.stem in plain_ids]
    real_titles = re.findall(
        r'class="(?:lead-title|story-title)"[^>]*>\s*<a [^>]*>([^<]+)<', decoded(ar[0].read_bytes())
    )
    assert preview_titles and preview_titles == real_titles
    # nothing new now: the preview of that language is gone
    assert env.client.get("/editor/preview/daily/ar").status_code == 404


def test_send_now_shows_the_count_and_runs_once_per_key(env: WebEnv) -> None:
    env.import_sample()
    env.fetch()
    env.login()
    page = env.client.get("/editor/send/daily").get_data(as_text=True)
    assert "<strong>24</strong> recipients" in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert key and token
    assert (
        env.client.post("/editor/send/daily", data={"idempotency_key": key.group(1)}).status_code
        == 400
    )
    assert env.outbox("daily/") == []
    first = env.client.post(
        "/editor/send/daily", data={"idempotency_key": key.group(1), "csrf_token": token.group(1)}
    )
    assert first.status_code == 200 and "24 sent" in first.get_data(as_text=True)
    # the double click / the retry
    second = env.client.post(
        "/editor/send/daily", data={"idempotency_key": key.group(1), "csrf_token": token.group(1)}
    )
    text = second.get_data(as_text=True)
    assert second.status_code == 200 and "nothing was sent again" in text and "24 sent" in text, (
        text[-1500:]
    )
    assert len(env.outbox("daily/")) == 24
    with env.store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from runs").scalar_one() == 1
    # a fresh key runs the job again, and the ledger sends nothing twice
    page = env.client.get("/editor/send/daily").get_data(as_text=True)
    assert "<strong>0</strong> recipients" in page
    key2 = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key2 and key2.group(1) != key.group(1)
    env.client.post(
        "/editor/send/daily", data={"idempotency_key": key2.group(1), "csrf_token": token.group(1)}
    )
    assert len(env.outbox("daily/")) == 24


def test_pin_and_exclude_change_the_next_edition(env: WebEnv) -> None:
    env.import_sample()
    env.login()
    env.fetch()
    page = env.client.get("/editor/stories").get_data(as_text=True)
    ids = re.findall(r'name="story_id" value="([^"]+)"', page)
    assert ids
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    from distributor.web.editions import find_next

    before = find_next(env.deps, "daily", "en")
    assert before is not None
    lead, last = before.stories[0], before.stories[-1]
    assert (
        env.client.post(
            "/editor/stories/flag", data={"story_id": lead.id, "flag": "excluded", "on": "1"}
        ).status_code
        == 400
    )
    r = env.client.post(
        "/editor/stories/flag",
        data={"story_id": lead.id, "flag": "excluded", "on": "1", "csrf_token": token.group(1)},
    )
    assert r.status_code == 302
    env.client.post(
        "/editor/stories/flag",
        data={"story_id": last.id, "flag": "pinned", "on": "1", "csrf_token": token.group(1)},
    )
    after = find_next(env.deps, "daily", "en")
    assert after is not None
    assert after.stories[0].id == last.id
    assert lead.id not in {s.id for s in after.stories}
    listing = env.client.get("/editor/stories").get_data(as_text=True)
    assert "pinned</span>" in listing and "excluded</span>" in listing
    assert (
        env.client.post(
            "/editor/stories/flag",
            data={"story_id": "nope", "flag": "pinned", "on": "1", "csrf_token": token.group(1)},
        ).status_code
        == 404
    )


def test_history_posts_and_chart_after_a_run(social_env: WebEnv) -> None:
    env = social_env
    env.import_sample()
    env.login()
    with Context.open(env.settings, store=env.store, clock=env.clock) as ctx:
        run(ctx)
    sub = env.web.subscriber_by_email(env.store.recipients("daily")[0].email)
    assert sub is not None
    env.clock.advance(hours=1)
    env.web.unsubscribe(sub.id, "daily", env.clock())
    history = env.client.get("/editor/history").get_data(as_text=True)
    assert "<svg" in history and "<title>Deliveries per edition</title>" in history
    assert (
        "2026-11-28 en · Sent: 4</title>" in history and "<title>Unsubscribed: 1</title>" in history
    )
    assert "<script" not in history
    # the chart speaks the dashboard's language: its title, legend and tooltips
    arabic = env.client.get("/editor/history", headers={"Accept-Language": "ar"})
    page = arabic.get_data(as_text=True)
    assert "<title>عمليات التسليم في كل عدد</title>" in page
    assert "2026-11-28 en · المُرسلة: 4</title>" in page and ">المُرسلة</text>" in page
    assert "Sent" not in page and "Unsubscribed" not in page
    figures = env.web.edition_figures()
    assert sum(f.sent for f in figures) == 24 and sum(f.unsubscribed for f in figures) == 1
    posts = env.client.get("/editor/posts")
    text = posts.get_data(as_text=True)
    assert posts.status_code == 200 and "outbox" in text and " / 500" in text
    card = re.search(r'src="(/editor/cards/[^"]+\.(?:png|jpg))"', text)
    assert card
    image = env.client.get(card.group(1))
    try:
        assert image.status_code == 200
        assert image.data[:8] == b"\x89PNG\r\n\x1a\n" or image.data[:3] == b"\xff\xd8\xff"
    finally:
        image.close()
    assert env.client.get("/editor/cards/../distributor.db").status_code == 404


def test_subscribers_pages_are_for_admins(env: WebEnv) -> None:
    env.import_sample()
    env.login()
    assert env.client.get("/editor/subscribers").status_code == 403
    assert env.client.get("/editor/subscribers/export.csv").status_code == 403


def test_admin_searches_imports_and_exports(env: WebEnv) -> None:
    env.import_sample()
    env.login("admin@news.example", role="admin")
    found = env.client.get("/editor/subscribers?q=yuki").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+@[^<]+)</td>", found)
    assert rows and all("yuki" in r for r in rows)
    token = csrf(env.client, "/editor/subscribers")
    import io

    csv_bytes = (
        b"email,name,language\nfresh@example.org,Fresh,en\nfresh@example.org,Again,en\nbad@,x,en\n"
    )
    no_token = env.client.post(
        "/editor/subscribers/import",
        data={"list": "daily", "file": (io.BytesIO(csv_bytes), "s.csv")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    reply = env.client.post(
        "/editor/subscribers/import",
        data={"list": "daily", "csrf_token": token, "file": (io.BytesIO(csv_bytes), "s.csv")},
        content_type="multipart/form-data",
    )
    text = reply.get_data(as_text=True)
    assert (
        reply.status_code == 200
        and "1 added" in text
        and "2 rejected" in text
        and "duplicate address" in text
    )
    export = env.client.get("/editor/subscribers/export.csv")
    assert export.mimetype == "text/csv" and "fresh@example.org" in export.get_data(as_text=True)


def test_a_second_call_while_the_first_runs_waits_for_its_result(env: WebEnv) -> None:
    """A double click's second request shows the first one's result once it is done."""
    import threading

    from distributor.service.daily import request_hash
    from distributor.web.editions import send_now

    scope, key = "dashboard:daily", "k-running"
    digest = request_hash({"list": "daily"})
    assert (
        env.web.claim_idempotency_key(scope, key, digest, env.clock()) is None
    )  # "the first call"
    # nobody finishes it: after the wait the answer is "in progress", and nothing ran
    outcome = send_now(
        env.deps,
        list_name="daily",
        idempotency_key=key,
        scope=scope,
        wait=0.3,
    )
    assert outcome.replayed and outcome.in_progress and outcome.response is None
    # the first call finishes while the second waits: the second shows its result
    done = {"list": "daily", "ok": True, "report": {"emails": {"sent": 7}}}
    timer = threading.Timer(0.5, env.web.finish_idempotency_key, (scope, key, done))
    timer.start()
    outcome = send_now(
        env.deps,
        list_name="daily",
        idempotency_key=key,
        scope=scope,
        wait=30,
    )
    timer.join()
    assert outcome.replayed and not outcome.in_progress and outcome.response == done
    with env.store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from runs").scalar_one() == 0
