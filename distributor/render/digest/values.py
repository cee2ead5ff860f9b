"""The digest's values and limits: :class:`Variant` (one rendered, inlined digest),
:class:`Shortening` (what the size guard did), the Gmail clipping limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.policy import SMTP

from distributor.render.fastmime import (
    PreparedMessage,
)

#: Gmail clips a message whose HTML passes about 102 KB (and hides the
#: unsubscribe link with it); the digest stays under this, personal parts included.
MAX_HTML_BYTES = 100_000
_RAW_HEADERS = SMTP.clone(refold_source="none")
_PERSONAL_MARGIN = 1_000  # room for the real links and name in place of the placeholders
_NETWORK_LABELS = {
    "x": "X",
    "facebook": "Facebook",
    "linkedin": "LinkedIn",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "threads": "Threads",
    "reddit": "Reddit",
}


@dataclass(frozen=True, slots=True)
class Shortening:
    """How the size guard shortened a variant."""

    original_bytes: int
    final_bytes: int
    summaries_dropped: bool
    stories_dropped: int
    stories_total: int

    def describe(self) -> str:
        what = ["summaries dropped"] if self.summaries_dropped else []
        if self.stories_dropped:
            what.append(f"last {self.stories_dropped} of {self.stories_total} stories dropped")
        return (
            f"HTML of {self.original_bytes // 1000} KB is over the "
            f"{MAX_HTML_BYTES // 1000} KB Gmail clipping limit; {', '.join(what)} "
            f"(now {self.final_bytes // 1000} KB, footer kept; the web archive has everything)"
        )


@dataclass(frozen=True, slots=True)
class Variant:
    """One rendered, inlined digest with placeholders for the personal parts."""

    list_name: str
    edition_key: str
    language: str
    subject: str
    html: str
    text: str
    story_ids: tuple[str, ...] = ()
    view_url: str = ""
    shortening: Shortening | None = None
    #: its links carry the reader (``tracking = "per_reader"``): filled per message
    reader_links: bool = False
    prepared: PreparedMessage | None = field(default=None, compare=False, repr=False)
