"""Share cards (images), share links and the text of social posts."""

from distributor.share.cards import CardMaker
from distributor.share.links import share_links
from distributor.share.posts import compose_post

__all__ = ["CardMaker", "compose_post", "share_links"]
