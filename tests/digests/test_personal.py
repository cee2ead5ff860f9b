"""The fast token signer makes exactly the tokens of distributor.tokens.Tokens."""

from __future__ import annotations

import pytest

from distributor.render.personal import LinkSigner, header_safe
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
