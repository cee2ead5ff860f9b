"""Newsroom sources: each kind returns normalized :class:`~distributor.models.Story` values."""

from distributor.sources.base import FetchResult, Source, build_source

__all__ = ["FetchResult", "Source", "build_source"]
