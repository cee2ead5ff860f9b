"""Hostile requests to every route: a 4xx with a plain message, never a 5xx; security
headers on every response.

Every rule of the app's URL map is called (through Flask's test client, over a real
SQLite store) with hostile path values, query strings, forms and bodies, as an anonymous
reader, an admin with a real session and CSRF token, and an API client with a token.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.routing import IntegerConverter, Rule
from werkzeug.serving import make_server

from tests.web.conftest import WebEnv, csrf

HUGE_INT = str(2**70)  # past 64 bits: SQLite and PostgreSQL integers overflow
TEXTS = [
    "x\r\nSet-Cookie: owned=1",
    "%0d%0aLocation:%20https://evil.example",
    "\x00\x1b[2J",
    "é" * 5000,
    "[/bold]{{7*7}}<script>alert(1)</script>",
]
QUERY_KEYS = ["lang", "language", "next", "q", "page", "list", "status", "segment", "since"]


#: real values of some path arguments, so the hostile body reaches the view's own code
KNOWN = {
    "name": ["postmark", "mailgun", "sendgrid", "resend", "brevo", "ses"],
    "list_name": ["daily"],
    "language": ["en"],
    "action": ["approve", "cancel", "schedule"],
    "edition_id": ["1"],
}


def path_values(rule: Rule) -> Iterator[dict[str, str]]:
    args = sorted(rule.arguments)
    if not args:
        yield {}
        return
    for text in [HUGE_INT, TEXTS[0], TEXTS[3]]:
        values = {}
        for arg in args:
            bounded = isinstance(rule._converters[arg], IntegerConverter)
            values[arg] = HUGE_INT if bounded else text
        yield values
    if all(arg in KNOWN for arg in args):
        longest = max(len(KNOWN[arg]) for arg in args)
        for i in range(longest):
            yield {arg: KNOWN[arg][i % len(KNOWN[arg])] for arg in args}


def build(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for key, value in values.items():
        path = re.sub(rf"<(?:[a-z]+:)?{key}>", value.replace("\r\n", "%0d%0a"), path)
    return path


def bodies(token: str) -> Iterator[tuple[str, dict[str, Any]]]:
    hostile_form = {key: TEXTS[0] for key in QUERY_KEYS}
    yield (
        "form",
        {
            "data": {
                "csrf_token": token,
                "email": "x\r\n@example.com",
                "name": TEXTS[3],
                "stories": HUGE_INT,
                "story_id": TEXTS[2],
                "version": HUGE_INT,
                "send_at": "2026-13-45T99:99",
                "list": TEXTS[0],
                **hostile_form,
            }
        },
    )
    yield "json-array", {"data": "[1, 2, 3]", "content_type": "application/json"}
    yield "json-broken", {"data": "{not json", "content_type": "application/json"}
    yield (
        "json-types",
        {
            "data": json.dumps(
                {
                    "list": ["a"],
                    "email": 5,
                    "stories": {"a": 1},
                    "version": "x",
                    "subjects": [1],
                    "send_at": 7,
                }
            ),
            "content_type": "application/json",
        },
    )
    yield "latin-1", {"data": "café=thé".encode("latin-1"), "content_type": "text/plain"}
    yield (
        "csv-latin-1",
        {
            "data": {
                "csrf_token": token,
                "list": "daily",
                "file": (
                    io.BytesIO("email,name\nz@example.com,Jos\xe9\n".encode("latin-1")),
                    "s.csv",
                ),
            },
            "content_type": "multipart/form-data",
        },
    )
    yield (
        "csv-binary",
        {
            "data": {
                "csrf_token": token,
                "list": "daily",
                "file": (io.BytesIO(b"\xff\xfe\x00\x01\x00bin"), "s.csv"),
            },
            "content_type": "multipart/form-data",
        },
    )
    yield (
        "csv-huge-field",
        {
            "data": {
                "csrf_token": token,
                "list": "daily",
                "file": (io.BytesIO(b"email,name\nz@example.com," + b"x" * 200_000), "s.csv"),
            },
            "content_type": "multipart/form-data",
        },
    )


def call(env: WebEnv, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
    return env.client.open(url, method=method, headers=headers, **kw)


def test_no_route_answers_hostile_input_with_a_5xx(env: WebEnv) -> None:
    env.app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is answered, and counted, here
    env.import_sample()
    env.login("admin@news.example", role="admin")
    token = csrf(env.client, "/editor/subscribers")
    api = {
        "Authorization": f"Bearer {env.web.create_api_token('cms', env.clock())}",
        "Idempotency-Key": "k\x1b" + "é" * 300,
    }
    failures: list[str] = []
    calls = 0
    for rule in env.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            headers = api if rule.rule.startswith("/api/") else {}
            for values in path_values(rule):
                url = build(rule, values)
                queries = [{key: text for key in QUERY_KEYS} for text in TEXTS[:3]]
                if method == "GET":
                    for query in queries:
                        reply = call(env, method, url, headers, query_string=query)
                        calls += 1
                        if reply.status_code >= 500:
                            failures.append(f"{method} {url} {query}: {reply.status_code}")
                    continue
                for label, body in bodies(token):
                    reply = call(env, method, url, headers, query_string=queries[0], **body)
                    calls += 1
                    if reply.status_code >= 500:
                        failures.append(f"{method} {url} [{label}]: {reply.status_code}")
    assert calls > 300
    assert failures == []


def test_a_body_over_the_cap_is_refused_before_it_is_read(env: WebEnv) -> None:
    """Over real HTTP: the 413 comes back after the headers, with 21 MB declared and
    almost none of it sent."""
    server = make_server("127.0.0.1", 0, env.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for url in ("/u/some-token", "/subscribe", "/api/editions", "/webhooks/postmark"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(
                    f"POST {url} HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {21 * 1024 * 1024}\r\n\r\na=xxxx".encode()
                )
                status = sock.recv(4096).split(b"\r\n", 1)[0]
            assert status.startswith(b"HTTP/1.1 413"), (url, status)
    finally:
        server.shutdown()


@pytest.mark.parametrize("url", ["/subscribe", "/editor/login", "/healthz", "/api/openapi.json"])
def test_security_headers_on_every_page(env: WebEnv, url: str) -> None:
    reply = env.client.get(url)
    assert reply.status_code < 400
    headers = reply.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("no-referrer", "strict-origin-when-cross-origin")
    assert headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors" in csp and "default-src" in csp and "object-src 'none'" in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp


def test_security_headers_on_errors_and_editor_pages(env: WebEnv) -> None:
    missing = env.client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in missing.headers
    env.login()
    for url in ("/editor/", "/editor/stories", "/editor/editions", "/editor/history"):
        reply = env.client.get(url)
        assert reply.status_code == 200, url
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'self'" in reply.headers["Content-Security-Policy"]
    # the digest preview keeps its own sandbox policy
    preview = env.client.get("/editor/preview/daily/en/html")
    if preview.status_code == 200:
        assert preview.headers["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("email,name\nz@example.com,Jos\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"\xff\xfe\x00\x01\x00bin", "not UTF-8"),
        (b"email,name\nz@example.com," + b"x" * 200_000 + b"\n", "not a readable CSV"),
    ],
    ids=["latin-1", "binary", "huge-field"],
)
def test_an_unreadable_upload_is_a_400_saying_why(env: WebEnv, content: bytes, why: str) -> None:
    env.login("admin@news.example", role="admin")
    token = csrf(env.client, "/editor/subscribers")
    reply = env.client.post(
        "/editor/subscribers/import",
        data={"csrf_token": token, "list": "daily", "file": (io.BytesIO(content), "s.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 400
    assert why in reply.get_data(as_text=True)
    assert env.web.entries(list_name="daily") == []


def test_an_id_past_64_bits_is_a_404(env: WebEnv) -> None:
    api = {"Authorization": f"Bearer {env.web.create_api_token('cms', env.clock())}"}
    assert env.client.get(f"/api/planned-editions/{HUGE_INT}", headers=api).status_code == 404
    assert env.client.get(f"/api/editions/{HUGE_INT}", headers=api).status_code == 404
    assert env.client.get(f"/api/editions/{2**63 - 1}", headers=api).status_code == 404
    # the id columns are SQL INTEGERs: past 32 bits PostgreSQL refused the query (a 500)
    assert env.client.get(f"/api/editions/{2**31}", headers=api).status_code == 404
    assert env.client.get(f"/api/editions/{2**31 - 1}", headers=api).status_code == 404


def test_the_dashboard_export_escapes_formula_cells(env: WebEnv) -> None:
    import csv

    from distributor.models import Subscriber

    env.web.add(
        "daily",
        Subscriber(0, "f@example.com", '=HYPERLINK("http://evil")', "en"),
        "daily",
        env.clock(),
    )
    env.login("admin@news.example", role="admin")
    reply = env.client.get("/editor/subscribers/export.csv")
    assert reply.status_code == 200
    rows = {r[0]: r for r in csv.reader(io.StringIO(reply.get_data(as_text=True)))}
    assert rows["f@example.com"][1] == '\'=HYPERLINK("http://evil")'
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
