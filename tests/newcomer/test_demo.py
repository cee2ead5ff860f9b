"""``distributor demo`` (``make demo``) as a real process on the repository's own
configuration: the seeded editor logs in over HTTP with the printed credentials, and
preview, test send and send now work on the sample; the server serves the sample's
images with caching headers and the archive page of what was sent."""

from __future__ import annotations

import re

import requests

from tests.newcomer.conftest import Demo


def _csrf(session: requests.Session, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url, timeout=10).text)
    assert found
    return found.group(1)


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_demo_gives_a_dashboard_with_something_to_send(demo: Demo) -> None:
    base = demo.base
    assert "24 stories fetched, 24 subscribers, nothing sent yet" in demo.said
    assert f"dashboard: {base}/editor/" in demo.said
    assert demo.email == "editor@news.example"

    web = requests.Session()
    login = web.post(
        f"{base}/editor/login",
        data={
            "email": demo.email,
            "password": demo.password,
            "csrf_token": _csrf(web, f"{base}/editor/login"),
        },
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 302, login.text[:300]
    dashboard = web.get(f"{base}/editor/", timeout=30)
    assert dashboard.status_code == 200

    # preview: the page, and the digest it frames, whose lead image is served here
    preview = web.get(f"{base}/editor/preview/daily/en", timeout=60)
    assert preview.status_code == 200, preview.text[:300]
    assert "Nothing to preview" not in preview.text
    digest = web.get(f"{base}/editor/preview/daily/en/html", timeout=60)
    assert digest.status_code == 200
    images = re.findall(r'<img src="([^"]+)"', digest.text)
    assert images == [f"{base}/images/marel-river-treaty.jpg"]
    assert not demo.mails()  # nothing sent yet

    # a test send: one message to the editor, in the file outbox
    test = web.post(
        f"{base}/editor/preview/daily/en/test",
        data={"csrf_token": _field(preview.text, "csrf_token")},
        timeout=60,
    )
    assert test.status_code == 200
    assert "test sent to editor@news.example" in test.text, test.text[:500]
    tests = demo.mails()
    assert len(tests) == 1
    assert "To: editor@news.example" in tests[0].read_text(encoding="utf-8")

    # send now: every subscriber, once; the archive page is then served
    send_page = web.get(f"{base}/editor/send/daily", timeout=60)
    assert send_page.status_code == 200
    assert "This sends to <strong>24</strong> recipients" in send_page.text
    sent = web.post(
        f"{base}/editor/send/daily",
        data={
            "csrf_token": _field(send_page.text, "csrf_token"),
            "idempotency_key": _field(send_page.text, "idempotency_key"),
        },
        timeout=120,
    )
    assert sent.status_code == 200
    assert "24 sent, 0 failed, 0 unknown" in sent.text, sent.text[:800]
    assert len(demo.mails()) == 1 + 24
    pages = sorted((demo.data_dir / "archive" / "daily").glob("*/en.html"))
    assert len(pages) == 1
    name = pages[0].relative_to(demo.data_dir / "archive").as_posix()
    archive = requests.get(f"{base}/archive/{name}", timeout=10)
    assert archive.status_code == 200
    assert f'src="{base}/images/marel-river-treaty.jpg"' in archive.text
    assert f'content="{base}/images/marel-river-treaty.jpg"' in archive.text  # og:image

    image = requests.get(f"{base}/images/marel-river-treaty.jpg", timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert "max-age=86400" in image.headers["Cache-Control"]
    again = requests.get(
        f"{base}/images/marel-river-treaty.jpg",
        headers={"If-None-Match": image.headers["ETag"]},
        timeout=10,
    )
    assert again.status_code == 304
