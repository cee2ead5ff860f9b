"""Reach and engagement (issue 17): what readers did with an edition, per language and story.

Every door (dashboard, API, ``distributor stats``) calls :func:`editions` or
:func:`edition` and shows the typed result.  Figures, per edition, per variant (language
and reader segment) and per story:

- ``delivered``: messages the ledger has as ``sent``;
- ``clicks``: counted clicks (machine requests apart, in ``machine``);
- ``unique_readers``: distinct clients (address + browser, by today's salted digest) who
  clicked anything in the variant, summed over days; ``click_rate`` = unique readers /
  delivered;
- per story: clicks and unique clicks of its title, "Read more" and share links; share
  clicks per network;
- ``hourly``: clicks in each of the first 48 hours after the edition was made;
- ``opens`` only for lists with ``opens = true``, labelled unreliable, machine opens apart;
- ``social``: the edition's stories' social posts that went out, with the counts the
  networks expose (issue 18: Mastodon favourites/boosts/replies, Bluesky
  likes/reposts/replies/quotes, read by ``distributor posts counts`` or the scheduler);
  one row per post, with the story and its language.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from distributor.errors import NotFoundError
from distributor.models import PostState
from distributor.service.clicks import ClickRecorder
from distributor.service.context import Context
from distributor.store.clicks import ClickStore, CountRow, VariantRow, variants
from distributor.store.posts import PostStore

HOURS = 48
OPENS_NOTE = (
    "unreliable: mail clients and privacy proxies fetch images without a reader "
    "(Apple Mail Privacy Protection fetches every one)"
)


@dataclass
class StoryStats:
    story_id: str
    title: str
    url: str
    language: str
    clicks: int = 0
    unique_clicks: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # story | more | share
    shares: dict[str, int] = field(default_factory=dict)  # network -> clicks


@dataclass
class VariantStats:
    edition_id: int
    language: str
    segment: str
    delivered: int = 0
    clicks: int = 0
    unique_readers: int = 0
    machine: int = 0
    opens: int | None = None
    machine_opens: int | None = None
    shares: dict[str, int] = field(default_factory=dict)
    stories: list[StoryStats] = field(default_factory=list)

    @property
    def click_rate(self) -> float:
        return round(self.unique_readers / self.delivered, 4) if self.delivered else 0.0


@dataclass(frozen=True)
class SocialRow:
    """One social post of an edition's story, with the counts the network last gave
    (``None``: not read yet, or the network exposes none)."""

    story_id: str
    title: str
    channel: str
    language: str
    posted_at: datetime | None
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    fetched_at: datetime | None

    @property
    def engagement(self) -> int:
        return sum(n or 0 for n in (self.likes, self.reposts, self.replies, self.quotes))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["posted_at"] = self.posted_at.isoformat() if self.posted_at else None
        out["fetched_at"] = self.fetched_at.isoformat() if self.fetched_at else None
        return out


@dataclass
class EditionStats:
    list_name: str
    key: str
    created_at: datetime
    tracking: str
    variants: list[VariantStats] = field(default_factory=list)
    hourly: list[int] = field(default_factory=lambda: [0] * HOURS)
    #: the posts of the edition's stories that went out, with the networks' counts
    social: list[SocialRow] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(v.delivered for v in self.variants)

    @property
    def clicks(self) -> int:
        return sum(v.clicks for v in self.variants)

    @property
    def unique_readers(self) -> int:
        return sum(v.unique_readers for v in self.variants)

    @property
    def machine(self) -> int:
        return sum(v.machine for v in self.variants)

    @property
    def click_rate(self) -> float:
        return round(self.unique_readers / self.delivered, 4) if self.delivered else 0.0

    @property
    def shares(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for v in self.variants:
            for net, n in v.shares.items():
                out[net] += n
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def languages(self) -> dict[str, dict[str, Any]]:
        """Figures per language (reader segments of one language added up)."""
        out: dict[str, dict[str, Any]] = {}
        for v in self.variants:
            row = out.setdefault(
                v.language, {"delivered": 0, "clicks": 0, "unique_readers": 0, "machine": 0}
            )
            row["delivered"] += v.delivered
            row["clicks"] += v.clicks
            row["unique_readers"] += v.unique_readers
            row["machine"] += v.machine
        for row in out.values():
            d = row["delivered"]
            row["click_rate"] = round(row["unique_readers"] / d, 4) if d else 0.0
        return out

    def top_stories(self, limit: int = 10) -> list[dict[str, Any]]:
        """Stories by clicks over every language, with each language's clicks."""
        merged: dict[str, dict[str, Any]] = {}
        for v in self.variants:
            for st in v.stories:
                row = merged.setdefault(
                    st.story_id,
                    {
                        "story_id": st.story_id,
                        "title": st.title,
                        "url": st.url,
                        "clicks": 0,
                        "unique_clicks": 0,
                        "by_language": {},
                    },
                )
                row["clicks"] += st.clicks
                row["unique_clicks"] += st.unique_clicks
                row["by_language"][v.language] = row["by_language"].get(v.language, 0) + st.clicks
        rows = sorted(merged.values(), key=lambda r: (-r["clicks"], r["title"]))
        return rows[:limit]

    def to_dict(self) -> dict[str, Any]:
        variants_out = []
        for v in self.variants:
            item = asdict(v)
            item["click_rate"] = v.click_rate
            if v.opens is not None:
                item["opens_note"] = OPENS_NOTE
            variants_out.append(item)
        return {
            "list": self.list_name,
            "key": self.key,
            "created_at": self.created_at.isoformat(),
            "tracking": self.tracking,
            "delivered": self.delivered,
            "clicks": self.clicks,
            "unique_readers": self.unique_readers,
            "click_rate": self.click_rate,
            "machine": self.machine,
            "shares": self.shares,
            "languages": self.languages(),
            "top_stories": self.top_stories(),
            "hourly": self.hourly,
            "variants": variants_out,
            "social": [p.to_dict() for p in self.social],
        }


def editions(
    ctx: Context,
    *,
    list_name: str | None = None,
    key: str | None = None,
    limit: int = 20,
    recorder: ClickRecorder | None = None,
) -> list[EditionStats]:
    """The newest editions' figures (all lists, or one; one key), newest first.

    ``recorder``: this process's click recorder, whose held clicks are written first.
    """
    if recorder is not None:
        recorder.flush(force=True)
    rows = variants(ctx.store, list_name, key, max(1, min(limit, 500)))
    store = ClickStore(ctx.store)
    ids = [r.edition_id for r in rows]
    counts: dict[int, list[CountRow]] = defaultdict(list)
    for c in store.counts(ids):
        counts[c.edition_id].append(c)
    sent = store.sent_counts(ids)
    out: dict[tuple[str, str], EditionStats] = {}
    for r in rows:
        cfg = ctx.settings.lists.get(r.list_name)
        ed = out.get((r.list_name, r.key))
        if ed is None:
            ed = out[(r.list_name, r.key)] = EditionStats(
                r.list_name, r.key, r.created_at, cfg.tracking if cfg else "aggregate"
            )
        ed.created_at = min(ed.created_at, r.created_at)
        ed.variants.append(_variant(ctx, r, counts[r.edition_id], sent.get(r.edition_id, 0)))
    for ed in out.values():
        ed.social = _social(ctx, ed)
        start = ed.created_at
        for v in ed.variants:
            for c in counts[v.edition_id]:
                if c.kind in ("open", "reader"):
                    continue
                first = start.replace(minute=0, second=0, microsecond=0)
                offset = int((c.hour - first).total_seconds() // 3600)
                if 0 <= offset < HOURS:
                    ed.hourly[offset] += c.clicks
    return list(out.values())


def edition(
    ctx: Context, list_name: str, key: str, *, recorder: ClickRecorder | None = None
) -> EditionStats:
    """One edition's figures; :class:`NotFoundError` when the ledger has no such edition."""
    found = editions(ctx, list_name=list_name, key=key, limit=1, recorder=recorder)
    if not found:
        raise NotFoundError(f"no edition {key} of list {list_name!r} was sent")
    return found[0]


def _social(ctx: Context, ed: EditionStats) -> list[SocialRow]:
    """The posts (that went out) of the edition's stories in its languages, busiest
    first, with the counts stored by :mod:`distributor.service.post_metrics`."""
    titles = {st.story_id: st.title for v in ed.variants for st in v.stories}
    languages = {v.language for v in ed.variants}
    if not titles:
        return []
    store = PostStore(ctx.store)
    posts = [
        p
        for p in store.listing(states=[PostState.POSTED], story_ids=sorted(titles), limit=10_000)
        if p.language in languages
    ]
    counts = store.metrics([p.id for p in posts])
    rows = []
    for p in posts:
        m = counts.get(p.id)
        rows.append(
            SocialRow(
                p.story_id,
                titles[p.story_id],
                p.channel,
                p.language,
                p.at,
                m.likes if m else None,
                m.reposts if m else None,
                m.replies if m else None,
                m.quotes if m else None,
                m.fetched_at if m else None,
            )
        )
    rows.sort(key=lambda r: (-r.engagement, r.title, r.channel, r.language))
    return rows


def _variant(ctx: Context, row: VariantRow, counts: list[CountRow], delivered: int) -> VariantStats:
    cfg = ctx.settings.lists.get(row.list_name)
    v = VariantStats(row.edition_id, row.language, row.segment, delivered=delivered)
    edition = ctx.store.edition(row.edition_id)
    stories = ctx.store.stories_by_id(list(edition.story_ids))
    per_story: dict[int, StoryStats] = {}
    for i, sid in enumerate(edition.story_ids):
        story = stories.get(sid)
        per_story[i] = StoryStats(
            sid,
            story.title if story else sid,
            story.url if story else "",
            story.language if story else "",
        )
    opens = machine_opens = 0
    for c in counts:
        if c.kind == "reader":
            v.unique_readers += c.uniques
            continue
        if c.kind == "open":
            opens += c.clicks
            machine_opens += c.machine
            continue
        v.clicks += c.clicks
        v.machine += c.machine
        st = per_story.get(c.story_index)
        if st is None:
            continue
        st.clicks += c.clicks
        st.unique_clicks += c.uniques
        st.by_kind[c.kind] = st.by_kind.get(c.kind, 0) + c.clicks
        if c.kind == "share" and c.clicks:
            st.shares[c.network] = st.shares.get(c.network, 0) + c.clicks
            v.shares[c.network] = v.shares.get(c.network, 0) + c.clicks
    if cfg is not None and cfg.opens:
        v.opens, v.machine_opens = opens, machine_opens
    v.stories = sorted(per_story.values(), key=lambda s: -s.clicks)
    return v


CSV_FIELDS = (
    "list",
    "key",
    "language",
    "segment",
    "story_id",
    "title",
    "delivered",
    "clicks",
    "unique_clicks",
    "click_rate",
    "share_clicks",
    "machine",
)


def to_csv(found: list[EditionStats]) -> str:
    """One row per variant (story_id empty) and per story of each variant."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for ed in found:
        for v in ed.variants:
            writer.writerow(
                [
                    ed.list_name,
                    ed.key,
                    v.language,
                    v.segment,
                    "",
                    "",
                    v.delivered,
                    v.clicks,
                    v.unique_readers,
                    v.click_rate,
                    sum(v.shares.values()),
                    v.machine,
                ]
            )
            for st in v.stories:
                writer.writerow(
                    [
                        ed.list_name,
                        ed.key,
                        v.language,
                        v.segment,
                        st.story_id,
                        _csv_safe(st.title),
                        "",
                        st.clicks,
                        st.unique_clicks,
                        "",
                        sum(st.shares.values()),
                        "",
                    ]
                )
    return buf.getvalue()


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
