"""The fast token signer makes exactly the tokens of distributor.tokens.Tokens."""

from __future__ import annotations

import pytest

from distributor.render.personal import LinkSigner, header_safe, usual_name
from distributor.tokens import Tokens

IDS = [0, 1, 7, 42, 99, 100, 111, 1000, 1111, 12312, 10000, 123456, 1111111, 9999999999, 2**40]
LISTS = ["daily", "d", "morning-briefing", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x_1.2", "listé"]


@pytest.mark.parametrize("list_name", LISTS)
def test_tokens_equal_itsdangerous(list_name: str) -> None:
    tokens = Tokens("s3cret key")
    signer = LinkSigner("s3cret key", "https://news.example/newsletter/")
    for sid in IDS + list(range(0, 3000, 7)):
        for purpose in ("unsubscribe", "preferences"):
            token = signer.token(purpose, sid, list_name)
            assert token == tokens.make(purpose, sid, list_name), (sid, list_name, purpose)
        unsub, prefs, token = signer.links(sid, list_name)
        assert unsub == f"https://news.example/newsletter/u/{token}"
        subject = tokens.read("unsubscribe", token)
        assert subject is not None and (subject.subscriber_id, subject.list_name) == (
            sid,
            list_name,
        )
        assert tokens.read("preferences", prefs.rsplit("/", 1)[1]) is not None
        assert tokens.read("unsubscribe", prefs.rsplit("/", 1)[1]) is None


def test_a_compressible_payload_is_compressed_like_itsdangerous() -> None:
    signer = LinkSigner("k", "https://x")
    long_name = "a" * 60
    token = signer.token("unsubscribe", 1, long_name)
    assert token.startswith(".")  # zlib form, as itsdangerous chooses it
    assert token == Tokens("k").make("unsubscribe", 1, long_name)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("a\r\nb", "a b"),
        ("a\nb\rc\x00d", "a b c d"),
        ("  spaced   out  ", "spaced out"),
        ("tab\there", "tab here"),
        ("bell\x07\x1b[31m", "bell [31m"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
        ("28 novembre\u00a0: titre", "28 novembre\u00a0: titre"),
    ],
)
def test_header_safe(raw: str, safe: str) -> None:
    assert header_safe(raw) == safe


# the ids whose payload repeats most: runs of one digit, and two digits alternating
REPEATS = [int(d * n) for d in "123456789" for n in range(3, 13)] + [
    int(f"{a}{b}" * 6) for a, b in ("12", "90", "55", "10")
]


@pytest.mark.parametrize("list_name", [*LISTS, "weekly", "a1234b", "zzz", "x" * 24])
def test_the_ids_with_most_repeats_are_signed_like_itsdangerous(list_name: str) -> None:
    """ListTokens skips the zlib question below 10**8 for a name without repeats; the
    payloads most likely to compress (and those past 10**8, which ask zlib) agree."""
    tokens = Tokens("k")
    signer = LinkSigner("k", "https://x")
    for sid in [*REPEATS, 10**7, 10**8 - 1, 10**8, 10**8 + 1, 10**11]:
        assert signer.tokens(sid, list_name) == (
            tokens.make("unsubscribe", sid, list_name),
            tokens.make("preferences", sid, list_name),
        ), (sid, list_name)


USUAL_OR_NOT = [
    *("Alice", "", "سارة الحسن", "O'Brien, Jr.", "Zoë 山田", "a\u00a0b", " a", "a ", "a  b"),
    *("a\u200bb", "a\u202eb", "a\u200db", "a\x00b", "a\nb", "a\u2028b", "A & B", "<b>"),
    *('"q"', "=?utf-8?q?x?=", "x" * 201),
]


@pytest.mark.parametrize("name", USUAL_OR_NOT)
def test_a_usual_name_is_its_own_header_safe_form_with_nothing_to_escape(name: str) -> None:
    if usual_name(name):
        assert header_safe(name) == name and len(name) <= 200
        assert not any(c in name for c in '&<>"') and "=?" not in name
    else:  # only the names that need work take the longer way
        assert (
            header_safe(name) != name
            or len(name) > 200
            or any(c in name for c in '&<>"\u00a0\u200d')
            or "=?" in name
        )
