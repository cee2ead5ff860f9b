"""Benchmark: personalized, ready-to-send digest messages per second, fast vs naive.

A 10-story digest of the sample newsroom's size, in English and Arabic.

* fast: the variant rendered and inlined once (timed apart), then for each
  subscriber ``DigestRenderer.personalize`` -> a complete ``Message`` (raw
  MIME bytes, text, html, headers), subscribers streamed from a generator;
* naive: per subscriber, Jinja2 render + premailer + ``EmailMessage``
  (``DigestRenderer.naive_message``), measured in the same run;
* floor: the same pre-encoded variant with the personal values joined in by
  plain byte concatenation (no escaping, signing or encoding; see ``floor``),
  in the same rounds as the fast path; the fast path is reported as a fraction
  of it (target: at least 0.5, and at least 50,000 messages per CPU-second
  wherever the floor is above 100,000).

Memory: the peak traced allocation while streaming N and 4N subscribers
through the fast path (each message dropped after use, as a transport does)
must not grow with N.

Rates are messages per CPU-second of this process (``time.process_time``):
one core's throughput, not disturbed by other processes on a shared machine;
the fast path takes the best of several rounds, as ``timeit`` does.

Run: ``.venv/bin/python bench/bench_render.py [--messages N] [--rounds R]``.  The last line
of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from distributor.config import load_settings  # noqa: E402
from distributor.models import Edition, Story, StoryStatus, Subscriber  # noqa: E402
from distributor.render.digest import DigestRenderer  # noqa: E402
from distributor.share.links import share_links  # noqa: E402

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
CONFIG = """
data_dir = "var"
[newsroom]
name = "Meridian World News"
url = "https://news.example"
postal_address = "1 Example Square, Example City"
[web]
base_url = "https://news.example/newsletter"
unsubscribe_mailto = "unsubscribe@news.example"
[sources.meridian]
url = "feed.xml"
[lists.daily]
title = "Meridian Daily"
from_address = "Meridian Daily <digest@news.example>"
reply_to = "newsroom@news.example"
mail = "main"
[mail.main]
provider = "file"
"""
TITLES = {
    "en": "Four countries sign a treaty to share the Marel river's water in droughts and floods",
    "ar": "أربع دول توقّع معاهدة لتقاسم مياه نهر ماريل في مواسم الجفاف والفيضانات",
}
SUMMARIES = {
    "en": "The four countries along the Marel agreed how to share its water in dry years and to "
    "exchange flood warnings, ending six years of talks.",
    "ar": "اتفقت الدول الأربع المشاطئة لنهر ماريل على طريقة تقاسم مياهه في السنوات الجافة وعلى "
    "تبادل التحذيرات من الفيضانات، منهيةً ست سنوات من المفاوضات.",
}
NAMES = ["Alice Morgan", "Okafor, Chinedu", "سارة الحسن", "山田 太郎", "Liam O'Brien", ""]


def stories(lang: str) -> list[Story]:
    return [
        Story(
            id=f"urn:bench:{lang}:{i}",
            source="bench",
            url=f"https://news.example/{lang}/story-{i}",
            title=f"{TITLES[lang]} ({i + 1})",
            language=lang,
            status=StoryStatus.PUBLISHED,
            published_at=NOW - timedelta(hours=i),
            summary_text=SUMMARIES[lang],
            image_url="https://news.example/img/lead.jpg" if i == 0 else None,
        )
        for i in range(10)
    ]


def subscribers(n: int, lang: str) -> Iterator[Subscriber]:
    for i in range(n):
        yield Subscriber(
            id=i + 1, email=f"reader{i}@example.com", name=NAMES[i % len(NAMES)], language=lang
        )


def floor(variant: Any, lang: str, n: int) -> float:
    """The floor of personalization, in messages per CPU-second: the same pre-encoded
    variant (its static byte pieces and slot order, ``PreparedMessage``) with each
    subscriber's values joined in by plain byte concatenation: no escaping, no signing
    (the links carry the subscriber id as it is), no quoted-printable or RFC 2047,
    no ``Message`` object.  The same subscriber stream as the fast path."""
    prepared = variant.prepared
    static, pick = prepared._raw_static, prepared._raw_pick  # the variant's own layout
    date = prepared.dated(NOW)[2]  # the Date header's bytes, as the fast path has them
    base = b"https://news.example/newsletter"
    gc.collect()
    c0 = time.process_time()
    for sub in subscribers(n, lang):
        name = sub.name.encode()
        greeting = b"Hello " + name + b","
        unsub = b"%s/u/%d" % (base, sub.id)
        prefs = b"%s/p/%d" % (base, sub.id)
        to = name + b" <" + sub.email.encode() + b">"
        message_id = b"<%d.2026-11-28@news.example>" % sub.id
        values = [to, date, message_id, b"<" + unsub + b">", greeting, unsub, prefs]
        b"".join(pick([*static, *values, greeting, unsub, prefs, greeting, unsub, prefs]))
    return n / (time.process_time() - c0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000, help="fast messages per round")
    parser.add_argument("--rounds", type=int, default=9, help="fast rounds (the best counts)")
    parser.add_argument("--naive", type=int, default=60, help="naive messages per language")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "distributor.toml"
        cfg_path.write_text(CONFIG, encoding="utf-8")
        settings = load_settings(cfg_path, environ={"DISTRIBUTOR_SECRET_KEY": "bench"})
        renderer = DigestRenderer(settings)
        cfg = settings.lists["daily"]
        figures: dict[str, object] = {"stories": 10, "cpu_count": os.cpu_count()}
        fast_rates, naive_rates, floor_rates = [], [], []
        for lang in ("en", "ar"):
            items = stories(lang)
            edition = Edition(1, "daily", "2026-11-28", lang, tuple(s.id for s in items), NOW)
            links = {s.id: share_links(s, campaign="daily-2026-11-28") for s in items}

            t0 = time.perf_counter()
            variant = renderer.render(edition, items, links, cfg)
            figures[f"variant_ms_{lang}"] = round((time.perf_counter() - t0) * 1000, 1)

            # fast: rounds of streamed subscribers; CPU time of this process (one
            # core), best round (the machine is shared: other processes steal time).
            # parts=False is what SMTP and the file outbox use (the MIME bytes, like
            # the naive path's EmailMessage); parts=True also builds Message.text and
            # .html for HTTP APIs.  Each round also runs the floor first (see floor()),
            # so the two see the same machine.
            def rate(
                parts: bool, lang: str = lang, variant: object = variant
            ) -> tuple[float, float, int, int]:
                best, best_floor, size, count = 0.0, 0.0, 0, 0
                for _round in range(args.rounds):
                    if not parts:
                        best_floor = max(best_floor, floor(variant, lang, args.messages))
                    gc.collect()
                    n = 0
                    c0 = time.process_time()
                    for sub in subscribers(args.messages, lang):
                        msg = renderer.personalize(
                            variant,
                            sub,
                            f"daily/2026-11-28/{lang}/{sub.id}",
                            cfg,
                            NOW,  # type: ignore[arg-type]
                            parts=parts,
                        )
                        size += len(msg.raw)
                        n += 1
                    count += n
                    best = max(best, n / (time.process_time() - c0))
                return best, best_floor, size, count

            fast, floor_rate, size, count = rate(False)
            figures[f"fast_with_parts_msgs_per_s_{lang}"] = round(rate(True)[0])
            figures[f"floor_msgs_per_s_{lang}"] = round(floor_rate)
            figures[f"fast_vs_floor_{lang}"] = round(fast / floor_rate, 3)
            floor_rates.append(floor_rate)

            # naive: per subscriber Jinja2 + premailer + EmailMessage, same clock
            c0 = time.process_time()
            for sub in subscribers(args.naive, lang):
                renderer.naive_message(
                    edition, items, links, cfg, sub, f"daily/2026-11-28/{lang}/{sub.id}", NOW
                )
            naive = args.naive / (time.process_time() - c0)
            fast_rates.append(fast)
            naive_rates.append(naive)
            figures[f"fast_msgs_per_s_{lang}"] = round(fast)
            figures[f"naive_msgs_per_s_{lang}"] = round(naive, 1)
            figures[f"speedup_{lang}"] = round(fast / naive, 1)
            figures[f"message_kb_{lang}"] = round(size / count / 1024, 1)
            figures[f"html_kb_{lang}"] = round(len(variant.html.encode()) / 1024, 1)

        # memory: streaming N and 4N subscribers, peak traced memory
        items = stories("en")
        edition = Edition(1, "daily", "2026-11-28", "en", tuple(s.id for s in items), NOW)
        variant = renderer.render(edition, items, {}, cfg)
        peaks = []
        for n in (5_000, 20_000):
            gc.collect()
            tracemalloc.start()
            for sub in subscribers(n, "en"):
                renderer.personalize(variant, sub, f"k/{sub.id}", cfg, NOW)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        figures["peak_kb_5k_subscribers"] = round(peaks[0] / 1024)
        figures["peak_kb_20k_subscribers"] = round(peaks[1] / 1024)
        figures["memory_growth_ratio"] = round(peaks[1] / peaks[0], 2)

        fast_min = min(fast_rates)
        figures["fast_msgs_per_s"] = round(fast_min)
        figures["naive_msgs_per_s"] = round(min(naive_rates), 1)
        figures["speedup"] = round(
            min(f / n for f, n in zip(fast_rates, naive_rates, strict=True)), 1
        )
        fractions = [f / fl for f, fl in zip(fast_rates, floor_rates, strict=True)]
        figures["floor_msgs_per_s"] = round(min(floor_rates))
        figures["fast_vs_floor"] = round(min(fractions), 3)
        figures["target_fast_vs_floor"] = 0.5
        figures["target_msgs_per_s_where_floor_above_100k"] = 50_000
        figures["target_speedup"] = 50
        # each target on its own, then all of them
        figures["meets_target_fast_vs_floor"] = min(fractions) >= 0.5
        figures["meets_target_msgs_per_s"] = all(
            f >= 50_000 for f, fl in zip(fast_rates, floor_rates, strict=True) if fl > 100_000
        )
        figures["meets_target_speedup"] = figures["speedup"] >= 50  # type: ignore[operator]
        figures["meets_target"] = (
            figures["meets_target_fast_vs_floor"]
            and figures["meets_target_msgs_per_s"]
            and figures["meets_target_speedup"]
        )
        figures["load_average_1min"] = round(os.getloadavg()[0], 2)
        for k, v in figures.items():
            print(f"{k:>28}: {v}")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
