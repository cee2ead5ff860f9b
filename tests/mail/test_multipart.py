"""The hand-written ``multipart/form-data`` of the Mailgun calls is, byte for byte, what
urllib3's generic encoder makes of the same fields with the same boundary, and a form
parser reads every field back (repeated fields in order)."""

from __future__ import annotations

from urllib3 import encode_multipart_formdata
from werkzeug import Request
from werkzeug.test import EnvironBuilder

from distributor.mail.http import FormValue, multipart_form

FIELDS: list[tuple[str, FormValue]] = [
    ("from", "Meridian Daily <digest@news.example>"),
    ("to", ["a@example.org", "b@example.org", "c@example.org"]),
    ("subject", "Les nouvelles du jour \u2014 \u0645\u0631\u062d\u0628\u0627"),
    ("html", "<p>Hello \u2068%recipient.g%\u2069</p>\r\n--not-a-boundary\r\n"),
    ('h:X-"Quoted"', "v"),
    ("cc", []),
    ("recipient-variables", '{"a@example.org": {"g": "\u00c9lodie"}}'),
]


def _flat(fields: list[tuple[str, FormValue]]) -> list[tuple[str, str]]:
    return [(n, v) for n, value in fields for v in ([value] if isinstance(value, str) else value)]


def test_the_body_is_what_urllib3_encodes() -> None:
    body, content_type = multipart_form(FIELDS)
    boundary = content_type.removeprefix("multipart/form-data; boundary=")
    assert len(boundary) == 32
    expected, expected_type = encode_multipart_formdata(_flat(FIELDS), boundary=boundary)
    assert body == expected
    assert content_type == expected_type


def test_a_form_parser_reads_every_field_back() -> None:
    body, content_type = multipart_form(FIELDS)
    environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
    form = Request(environ).form
    assert form.getlist("to") == ["a@example.org", "b@example.org", "c@example.org"]
    assert form["subject"] == FIELDS[2][1]
    assert form["html"] == FIELDS[3][1]
    assert form['h:X-"Quoted"'] == "v"  # sent as %22, HTML's rule for a quote in a name
    assert "cc" not in form  # an empty list is no field at all
    assert form["recipient-variables"] == FIELDS[6][1]


def test_each_call_draws_a_new_boundary_absent_from_the_values() -> None:
    first, _ = multipart_form(FIELDS)
    second, second_type = multipart_form(FIELDS)
    boundary = second_type.rsplit("=", 1)[1].encode()
    assert first != second
    # once per field value (3 of them in ``to``) and once at the end, nowhere else
    assert second.count(boundary) == len(_flat(FIELDS)) + 1
