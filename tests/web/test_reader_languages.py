"""Issue 15 on the reader pages: every page and the confirmation mail wholly in the
reader's language; list titles and topic names from the config; nearest language."""

from __future__ import annotations

import re

import pytest

from distributor.render.digest import DigestRenderer
from distributor.web.i18n import EN, strings_for
from tests.web.conftest import BASE, WebEnv, signup

LANGS = ("ar", "ja", "es", "fr", "de", "pt-BR", "pt", "he")
# English texts a reader may still see on a translated page: none of the sentences
VISIBLE = [k for k in EN if "{" not in EN[k] and k not in {"name", "list", "honeypot"}]


def _no_english(html: str, keys: list[str], lang: str) -> None:
    text = re.sub(r"<[^>]+>", "\n", html)
    lines = {line.strip() for line in text.splitlines()}
    left = [EN[k] for k in keys if EN[k] in lines]
    assert not left, f"{lang}: still in English: {left}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_reader_page_and_the_confirmation_mail_speak_the_language(
    env: WebEnv, lang: str
) -> None:
    page = env.client.get(f"/subscribe?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    _no_english(page, VISIBLE, lang)

    address = f"reader-{lang.lower()}@example.org"
    reply = signup(env.client, address, language=lang)
    assert reply.status_code == 200
    _no_english(reply.get_data(as_text=True), VISIBLE, lang)
    (mail,) = [m for m in env.confirmation_mails() if m["To"] == address]
    assert mail["Content-Language"] == lang
    body = mail.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    for english in ("Someone, hopefully you", "To confirm", "Confirm your subscription"):
        assert english not in content and english not in str(mail["Subject"])
    path = env.confirmation_path(mail)
    confirm = env.client.get(path).get_data(as_text=True)
    _no_english(confirm, ["confirm_title", "confirm_button"], lang)
    done = env.client.post(path).get_data(as_text=True)
    _no_english(done, ["confirmed_title"], lang)
    assert f"<bdi>{address}</bdi>" in done  # isolated from the sentence

    # the preference and unsubscribe pages behind the digest's own links
    sub = env.web.subscriber_by_email(address)
    assert sub is not None and sub.language == lang
    renderer = DigestRenderer(env.settings)
    prefs = renderer.preferences_url(sub, "daily").removeprefix(BASE)
    unsub = renderer.unsubscribe_url(sub, "daily").removeprefix(BASE)
    page = env.client.get(prefs).get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    _no_english(page, VISIBLE, lang)
    assert EN["status_subscribed"] not in re.sub(r"<[^>]+>", " ", page).split()
    saved = env.client.post(
        prefs, data={"action": "save", "language": lang, "frequency": "weekly", "timezone": ""}
    ).get_data(as_text=True)
    _no_english(saved, VISIBLE, lang)
    assert strings_for(lang)["saved"] in saved
    page = env.client.get(unsub).get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    _no_english(page, ["unsub_title", "unsub_button"], lang)
    gone = env.app.test_client(use_cookies=False).post(
        unsub, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert gone.status_code == 200
    _no_english(gone.get_data(as_text=True), ["unsubscribed_title", "resubscribe"], lang)


def test_list_title_and_topic_names_come_from_the_config_per_language(env: WebEnv) -> None:
    from distributor.config import Settings

    settings: Settings = env.settings
    names = {"world": {"ar": "العالم", "ja": "世界"}, "science": {"ar": "العلوم"}}
    lst = settings.lists["daily"].model_copy(
        update={"title_i18n": {"ar": "ميريديان اليومية"}, "description_i18n": {"ar": "أخبار"}}
    )
    web = settings.web.model_copy(update={"topic_names": names})
    env.app.extensions["distributor"]["settings"] = settings.model_copy(
        update={"lists": {"daily": lst}, "web": web}
    )
    env.app.extensions["distributor"].pop("deps", None)
    ar = env.client.get("/subscribe?lang=ar").get_data(as_text=True)
    assert "<bdi>ميريديان اليومية</bdi>" in ar and "أخبار" in ar
    assert "<bdi>العالم</bdi>" in ar and "<bdi>العلوم</bdi>" in ar and "<bdi>culture</bdi>" in ar
    ja = env.client.get("/subscribe?lang=ja").get_data(as_text=True)
    assert "<bdi>世界</bdi>" in ja and "<bdi>Meridian Daily</bdi>" in ja
    assert 'value="world"' in ja  # the stored topic stays the config's key


@pytest.mark.parametrize(
    ("asked", "served"),
    [("ar-EG", "ar"), ("pt-PT", "pt"), ("zh-Hant-TW", "en"), ("xx", "en"), ("", "en")],
)
def test_a_page_language_nobody_offers_maps_to_the_nearest(
    env: WebEnv, asked: str, served: str
) -> None:
    page = env.client.get("/subscribe", headers={"Accept-Language": asked} if asked else {})
    assert page.status_code == 200
    assert page.headers["Content-Language"] == served
