"""Sign-up with double opt-in, confirm, preferences, one-click unsubscribe, and the attacks."""

from __future__ import annotations

from pathlib import Path

from itsdangerous import URLSafeSerializer

from distributor.models import SubscriberStatus
from distributor.render.digest import DigestRenderer
from distributor.tokens import Tokens
from tests.web.conftest import BASE, WebEnv, signup


def _membership(env: WebEnv, email: str) -> str | None:
    sub = env.web.subscriber_by_email(email)
    return None if sub is None else env.web.membership(sub.id, "daily")


def test_signup_form_is_localized(env: WebEnv) -> None:
    page = env.client.get("/subscribe", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="fr"' in html and "Abonnez-vous à Meridian Daily" in html
    assert 'name="website"' in html  # the honeypot
    ar = env.client.get("/subscribe?lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in ar and "اشترك" in ar


def test_double_opt_in_then_preferences_then_one_click_unsubscribe(env: WebEnv) -> None:
    reply = signup(
        env.client,
        "Reader@Example.org",
        name="Ada",
        frequency="weekly",
        timezone="Europe/Paris",
        topics=["science"],
        language="fr",
    )
    assert reply.status_code == 200
    assert "reader@example.org" in reply.get_data(as_text=True)
    # pending: not a recipient of any digest
    assert _membership(env, "reader@example.org") == SubscriberStatus.PENDING
    assert [s.email for s in env.store.recipients("daily")] == []

    mails = env.confirmation_mails()
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == "reader@example.org"
    assert mail["From"] == "Meridian Daily <digest@news.example>"
    assert "Meridian Daily" in mail["Subject"] and mail["Content-Language"] == "fr"
    path = env.confirmation_path(mail)

    # GET only shows a button: scanners following the link confirm nothing
    page = env.client.get(path)
    assert page.status_code == 200 and '<form method="post"' in page.get_data(as_text=True)
    assert _membership(env, "reader@example.org") == SubscriberStatus.PENDING

    done = env.client.post(path)
    assert done.status_code == 200
    assert _membership(env, "reader@example.org") == SubscriberStatus.SUBSCRIBED
    sub = env.web.subscriber_by_email("reader@example.org")
    assert sub is not None
    assert (sub.language, sub.timezone, sub.topics, sub.name) == (
        "fr",
        "Europe/Paris",
        ("science",),
        "Ada",
    )
    assert env.web.frequency(sub.id) == "weekly"
    assert [s.email for s in env.store.recipients("daily")] == ["reader@example.org"]

    # the links a digest carries, made by the digest renderer itself
    renderer = DigestRenderer(env.settings)
    prefs_url = renderer.preferences_url(sub, "daily")
    unsub_url = renderer.unsubscribe_url(sub, "daily")
    assert prefs_url.startswith(f"{BASE}/p/") and unsub_url.startswith(f"{BASE}/u/")
    prefs_path, unsub_path = prefs_url.removeprefix(BASE), unsub_url.removeprefix(BASE)

    page = env.client.get(prefs_path)
    assert page.status_code == 200 and "reader@example.org" in page.get_data(as_text=True)
    saved = env.client.post(
        prefs_path,
        data={
            "action": "save",
            "language": "es",
            "frequency": "daily",
            "timezone": "America/Lima",
            "topics": ["world", "culture"],
        },
    )
    assert saved.status_code == 200
    sub = env.web.subscriber_by_email("reader@example.org")
    assert sub is not None and (sub.language, sub.timezone, sub.topics) == (
        "es",
        "America/Lima",
        ("world", "culture"),
    )
    assert env.web.frequency(sub.id) == "daily"

    # GET on the unsubscribe URL never unsubscribes
    page = env.client.get(unsub_path)
    assert (
        page.headers["Referrer-Policy"] == "no-referrer"
        and page.headers["X-Frame-Options"] == "DENY"
    )
    assert page.status_code == 200 and "List-Unsubscribe" in page.get_data(as_text=True)
    assert _membership(env, "reader@example.org") == SubscriberStatus.SUBSCRIBED

    # RFC 8058: a POST with the one-click body, no cookie, no CSRF token
    fresh = env.app.test_client(use_cookies=False)
    gone = fresh.post(
        unsub_path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert gone.status_code == 200
    assert _membership(env, "reader@example.org") == SubscriberStatus.UNSUBSCRIBED
    assert env.store.recipients("daily") == []
    # repeating it is harmless
    assert (
        fresh.post(
            unsub_path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 200
    )

    # and resubscribing works, from the preference center
    back = env.client.post(prefs_path, data={"action": "resubscribe"})
    assert back.status_code == 200
    assert _membership(env, "reader@example.org") == SubscriberStatus.SUBSCRIBED


def test_resubscribe_through_the_form_needs_a_new_confirmation(env: WebEnv) -> None:
    signup(env.client, "back@example.org")
    env.client.post(env.confirmation_path(env.confirmation_mails()[0]))
    sub = env.web.subscriber_by_email("back@example.org")
    assert sub is not None
    env.web.unsubscribe(sub.id, "daily", env.clock())
    env.clock.advance(minutes=5)
    signup(env.client, "back@example.org", language="es")
    # still unsubscribed until the new link is used
    assert _membership(env, "back@example.org") == SubscriberStatus.UNSUBSCRIBED
    mails = env.confirmation_mails()
    assert len(mails) == 2
    env.client.post(env.confirmation_path(mails[-1]))
    assert _membership(env, "back@example.org") == SubscriberStatus.SUBSCRIBED
    again = env.web.subscriber_by_email("back@example.org")
    assert again is not None and again.language == "es"


def test_expired_tampered_and_wrong_purpose_tokens_give_a_clear_page(env: WebEnv) -> None:
    signup(env.client, "late@example.org")
    path = env.confirmation_path(env.confirmation_mails()[0])
    token = path.rsplit("/", 1)[1]

    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for method in ("get", "post"):
        reply = getattr(env.client, method)(tampered)
        assert reply.status_code == 400 and "not valid" in reply.get_data(as_text=True)

    # a confirmation token is refused where an unsubscribe or preferences one is expected
    for prefix in ("/u/", "/p/"):
        for method in ("get", "post"):
            reply = getattr(env.client, method)(prefix + token)
            assert reply.status_code == 400
    sub = env.web.subscriber_by_email("late@example.org")
    assert sub is not None
    unsub_token = Tokens(env.settings.secret_key.get_secret_value()).make(
        "unsubscribe", sub.id, "daily"
    )
    assert env.client.post(f"/confirm/{unsub_token}").status_code == 400
    assert env.client.post(f"/p/{unsub_token}", data={"action": "save"}).status_code == 400
    # signed with another key
    foreign = URLSafeSerializer("not-our-secret", salt="distributor.unsubscribe").dumps(
        [sub.id, "daily"]
    )
    assert env.client.post(f"/u/{foreign}").status_code == 400
    garbage = env.client.get("/u/%00%ff..")
    assert garbage.status_code in (400, 404)

    env.clock.advance(hours=env.settings.web.confirm_max_age_hours, seconds=1)
    expired = env.client.post(path)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert env.client.get(path).status_code == 410
    assert _membership(env, "late@example.org") == SubscriberStatus.PENDING


def test_signup_flooding_is_rate_limited_per_address_and_per_client(env: WebEnv) -> None:
    for _ in range(3):
        assert signup(env.client, "victim@example.org").status_code == 200
    assert signup(env.client, "victim@example.org").status_code == 429
    assert len(env.confirmation_mails()) == 3
    # per client: 5 an hour from one address, whatever the email
    other = env.app.test_client()
    for i in range(5):
        reply = other.post(
            "/subscribe",
            data={
                "email": f"x{i}@example.org",
                "language": "en",
                "frequency": "daily",
                "list": "daily",
            },
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert reply.status_code == 200
    blocked = other.post(
        "/subscribe",
        data={"email": "x9@example.org", "language": "en", "frequency": "daily", "list": "daily"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert blocked.status_code == 429
    assert env.web.subscriber_by_email("x9@example.org") is None
    # an hour later the address may ask again
    env.clock.advance(hours=1, seconds=1)
    assert signup(env.client, "victim@example.org").status_code == 200
    assert len(env.confirmation_mails()) == 4 + 5


def test_honeypot_and_suppressed_addresses_get_no_mail(env: WebEnv) -> None:
    reply = signup(env.client, "bot@example.org", website="http://spam.example")
    assert reply.status_code == 200  # looks the same to the bot
    assert env.web.subscriber_by_email("bot@example.org") is None
    env.store.suppress("bounced@example.org", "bounce: 550 no such user", env.clock())
    assert signup(env.client, "bounced@example.org").status_code == 200
    assert env.confirmation_mails() == []


def test_already_subscribed_address_gets_no_new_mail(env: WebEnv) -> None:
    signup(env.client, "twice@example.org")
    env.client.post(env.confirmation_path(env.confirmation_mails()[0]))
    signup(env.client, "twice@example.org")
    assert len(env.confirmation_mails()) == 1


def test_invalid_input_is_refused_with_reasons(env: WebEnv) -> None:
    reply = signup(
        env.client,
        "not an address",
        language="xx",
        frequency="hourly",
        timezone="Mars/Base",
        topics=["gossip"],
    )
    assert reply.status_code == 400
    html = reply.get_data(as_text=True)
    for word in ("not valid", "Language", "How often", "Time zone", "Topics"):
        assert word in html
    assert env.confirmation_mails() == []
    assert (
        env.client.post("/subscribe", data={"email": "a@example.org", "list": "nope"}).status_code
        == 404
    )


def test_confirmation_of_an_address_suppressed_meanwhile_is_refused(env: WebEnv) -> None:
    signup(env.client, "meanwhile@example.org")
    path = env.confirmation_path(env.confirmation_mails()[0])
    env.store.suppress("meanwhile@example.org", "complaint", env.clock())
    reply = env.client.post(path)
    assert reply.status_code == 403
    assert env.store.recipients("daily") == []


def test_page_strings_escape_hostile_input(env: WebEnv) -> None:
    reply = signup(env.client, "<script>alert(1)</script>@x")
    assert reply.status_code == 400
    assert "<script>alert(1)" not in reply.get_data(as_text=True)
    assert "&lt;script&gt;" in reply.get_data(as_text=True)


def test_forgotten_reader_links_are_dead_and_they_may_sign_up_again(env: WebEnv) -> None:
    signup(env.client, "gone@example.org")
    env.client.post(env.confirmation_path(env.confirmation_mails()[0]))
    sub = env.web.subscriber_by_email("gone@example.org")
    assert sub is not None
    unsub = DigestRenderer(env.settings).unsubscribe_url(sub, "daily").removeprefix(BASE)
    assert env.web.forget("gone@example.org", env.clock())
    assert env.client.get(unsub).status_code == 400
    assert env.client.post(unsub, data="List-Unsubscribe=One-Click").status_code == 400
    # the reader comes back on their own: double opt-in again, and the hash is lifted
    env.clock.advance(hours=2)
    signup(env.client, "gone@example.org")
    mails = env.confirmation_mails()
    assert len(mails) == 2
    assert env.client.post(env.confirmation_path(mails[-1])).status_code == 200
    assert _membership(env, "gone@example.org") == SubscriberStatus.SUBSCRIBED
    assert env.web.suppression_reason("gone@example.org") is None


def test_a_transport_outage_gives_a_clear_page(tmp_path: Path) -> None:
    from tests.web.conftest import make_env

    # a file outbox that cannot be written: the directory is a file
    gen = make_env(tmp_path)
    env = next(gen)
    try:
        blocker = env.settings.data_path("outbox/mail")
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_text("not a directory")
        reply = signup(env.client, "later@example.org")
        assert reply.status_code == 503 and "try again" in reply.get_data(as_text=True)
    finally:
        gen.close()


def test_preferences_keep_a_language_the_form_does_not_offer(env: WebEnv) -> None:
    env.import_sample()
    sub = next(s for s in env.store.recipients("daily") if s.language == "pt-BR")
    path = DigestRenderer(env.settings).preferences_url(sub, "daily").removeprefix(BASE)
    page = env.client.get(path).get_data(as_text=True)
    assert (
        '<option value="pt-BR" selected lang="pt-BR" dir="ltr">Português (Brasil)</option>' in page
    )
    assert (
        env.client.post(path, data={"language": "pt-BR", "frequency": "weekly"}).status_code == 200
    )
    again = env.web.subscriber(sub.id)
    assert again is not None and again.language == "pt-BR" and env.web.frequency(sub.id) == "weekly"
