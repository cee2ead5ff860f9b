"""Social channels: one module per network under :class:`SocialChannel`."""

from distributor.social.base import SocialChannel, build_channel

__all__ = ["SocialChannel", "build_channel"]
