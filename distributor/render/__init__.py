"""Rendering email digests: templates, CSS inlining, text part, MIME assembly."""

from distributor.render.digest import DigestRenderer, Variant

__all__ = ["DigestRenderer", "Variant"]
