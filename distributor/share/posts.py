"""The text of a social post for one story on one channel, counted as the network counts.

Templates (Jinja2, overridable in ``templates_dir``) are looked up in order:
``social/<network>.<language>.txt.j2``, ``social/<network>.<base language>.txt.j2``,
``social/<network>.txt.j2``, ``social/post.txt.j2``.  They render the body; the
link is added after it on networks that carry it in the text.

When the body is too long it is shortened at a grapheme and word boundary
(between ideographs for scripts written without spaces), with an ellipsis;
a URL, a hashtag or a mention is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import regex
from jinja2 import Environment, TemplateNotFound

from distributor.models import Post, Story
from distributor.share.counting import HASHTAG, MENTION, URL, Facet, Rules, bluesky_facets
from distributor.store.repository import post_key
from distributor.text_safety import strip_invisible

ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")
_PROTECTED = regex.compile(f"{URL.pattern}|{HASHTAG.pattern}|{MENTION.pattern}")
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")


def _tokens(text: str) -> list[tuple[str, bool]]:
    """``text`` as (token, breakable) pieces: words with their trailing space, CJK
    graphemes one by one, and URLs/hashtags/mentions as unbreakable wholes."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _PROTECTED.finditer(text):
        out += _plain_tokens(text[pos : m.start()])
        out.append((m.group(0), False))
        pos = m.end()
    out += _plain_tokens(text[pos:])
    return out


def _plain_tokens(text: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    buf = ""
    for g in _GRAPHEME.findall(text):
        if _CJK.match(g):
            if buf:
                out.append((buf, True))
            out.append((g, True))
            buf = ""
            continue
        if buf and buf[-1].isspace() and not g.isspace():
            out.append((buf, True))
            buf = ""
        buf += g
    if buf:
        out.append((buf, True))
    return out


def shorten(text: str, fits: object) -> str:
    """The longest prefix of ``text`` at a word boundary (+ ellipsis) for which
    ``fits(prefix)`` holds; ``fits`` must be monotone in the prefix length."""
    assert callable(fits)
    if fits(text):
        return text
    tokens = _tokens(text)
    lo, hi = 0, len(tokens)  # invariant: prefix of lo tokens fits (0 trivially)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(_cut(tokens[:mid])):
            lo = mid
        else:
            hi = mid - 1
    best = _cut(tokens[:lo]) if lo else ""
    # a single breakable word longer than the room: cut it at a grapheme boundary
    if lo == 0 and tokens and tokens[0][1]:
        clusters = _GRAPHEME.findall(tokens[0][0])
        lo_g, hi_g = 0, len(clusters)
        while lo_g < hi_g:
            mid = (lo_g + hi_g + 1) // 2
            if fits("".join(clusters[:mid]).rstrip() + ELLIPSIS):
                lo_g = mid
            else:
                hi_g = mid - 1
        if lo_g:
            best = "".join(clusters[:lo_g]).rstrip() + ELLIPSIS
    return best


def _cut(tokens: list[tuple[str, bool]]) -> str:
    text = "".join(t for t, _ in tokens).rstrip()
    stripped = text.rstrip(" ,.;:-–—、。，")
    if stripped and tokens and not tokens[-1][1] and text.endswith(tokens[-1][0]):
        stripped = text  # never strip characters off a URL or hashtag
    return (stripped or text) + ELLIPSIS


@dataclass(frozen=True)
class ComposedPost:
    """A post as one network will count it."""

    network: str
    text: str
    length: int
    limit: int
    unit: str
    byte_length: int
    byte_limit: int | None
    facets: tuple[Facet, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "network": self.network,
            "text": self.text,
            "length": self.length,
            "limit": self.limit,
            "unit": self.unit,
        }
        if self.byte_limit is not None:
            out["bytes"] = self.byte_length
            out["byte_limit"] = self.byte_limit
        if self.network == "bluesky":
            out["facets"] = [f.to_record() for f in self.facets]
        return out


def composed_view(text: str, rules: Rules) -> ComposedPost:
    """``text`` as ``rules``' network counts it (length, bytes, Bluesky facets)."""
    return ComposedPost(
        network=rules.network,
        text=text,
        length=rules.count(text),
        limit=rules.limit,
        unit=rules.unit,
        byte_length=len(text.encode("utf-8")),
        byte_limit=rules.byte_limit,
        facets=tuple(bluesky_facets(text)) if rules.network == "bluesky" else (),
    )


def render_body(env: Environment, story: Story, network: str, channel: str) -> str:
    """The post body from the most specific template for (network, language)."""
    lang = story.language
    names = [
        f"social/{network}.{lang}.txt.j2",
        f"social/{network}.{lang.split('-')[0]}.txt.j2",
        f"social/{network}.txt.j2",
        "social/post.txt.j2",
    ]
    template = env.select_template(names)
    section = story.sections[0] if story.sections else ""
    hashtag = "#" + regex.sub(r"[^\p{L}\p{M}\p{N}_]", "", section) if section else ""
    body = template.render(
        story=story, channel=channel, network=network, section=section, hashtag=hashtag
    )
    return str(regex.sub(r"\n{3,}", "\n\n", body)).strip()


def compose_text(body: str, url: str, rules: Rules) -> str:
    """``body`` shortened so that it, plus the link where the network wants it, fits."""
    sep = "\n\n"

    def full(b: str) -> str:
        if not rules.link_in_text:
            return b
        return f"{b}{sep}{url}" if b else url

    short = shorten(body, lambda b: rules.fits(full(b)))
    return full(short)


def compose(
    story: Story,
    *,
    channel: str,
    rules: Rules,
    url: str,
    env: Environment,
) -> ComposedPost:
    """The post of ``story`` for one channel, counted as its network counts."""
    try:
        body = render_body(env, story, rules.network, channel)
    except TemplateNotFound:  # pragma: no cover - post.txt.j2 always exists
        body = story.title
    body = strip_invisible(body)  # no bidi override or zero-width trick reaches a post
    return composed_view(compose_text(body, url, rules), rules)


def compose_post(
    story: Story,
    *,
    channel: str,
    url: str,
    rules: Rules,
    env: Environment,
    card_path: str | None = None,
    alt_text: str = "",
    thumb_path: str | None = None,
) -> Post:
    """A ledger-ready :class:`Post` for one (story, channel, language)."""
    composed = compose(story, channel=channel, rules=rules, url=url, env=env)
    extra = {
        "title": story.title,
        "description": story.summary_text[:300],
        "network": rules.network,
    }
    if thumb_path:
        extra["thumb_path"] = thumb_path
    if story.published_at is not None:
        extra["published_at"] = story.published_at.isoformat()
    return Post(
        key=post_key(story.id, channel, story.language),
        story_id=story.id,
        channel=channel,
        language=story.language,
        text=composed.text,
        url=url,
        card_path=card_path,
        alt_text=alt_text,
        extra=extra,
    )
