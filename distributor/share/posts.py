"""The text of a social post for one story on one channel."""

from __future__ import annotations

from jinja2 import Environment

from distributor.models import Post, Story
from distributor.store.repository import post_key

ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + ELLIPSIS


def compose_post(
    story: Story,
    *,
    channel: str,
    url: str,
    max_chars: int,
    env: Environment,
    card_path: str | None = None,
    alt_text: str = "",
) -> Post:
    """Post text from ``social/post.txt.j2``, shortened so text + link fit ``max_chars``."""
    body = env.get_template("social/post.txt.j2").render(story=story, channel=channel).strip()
    room = max_chars - len(url) - 2
    text = f"{shorten(body, room)}\n\n{url}"
    return Post(
        key=post_key(story.id, channel, story.language),
        story_id=story.id,
        channel=channel,
        language=story.language,
        text=text,
        url=url,
        card_path=card_path,
        alt_text=alt_text,
    )
