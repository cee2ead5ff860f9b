"""Share cards per second per core, and a second run with nothing changed.

Renders one card set (Open Graph 1200x630 PNG, square 1080x1080 PNG, Bluesky
JPEG thumbnail) per story for headlines in ten scripts, in one process (one
core), three ways:

* ``naive``: what a first version does -- a new font chain per card (fontconfig
  queries, character maps), no measurement cache, maximum PNG compression;
* ``distributor``: :class:`distributor.share.cards.CardMaker` as the pipeline
  uses it (font chains and glyph widths reused across cards);
* ``again``: the same stories a second time: everything comes from the cache.

Rates are per CPU second of this process (``time.process_time``), i.e. per
core, so other work on a shared machine does not count against them.

Ends with one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distributor.models import Story, StoryStatus
from distributor.share.cards import CardMaker

HEADLINES = {
    "en": "Ministers agree on a new climate pact after a record-breaking night of talks",
    "ru": "Министры согласовали новый климатический пакт после рекордной ночи переговоров",
    "el": "Οι υπουργοί συμφώνησαν σε νέο σύμφωνο για το κλίμα μετά από μια νύχτα",
    "ar": "وزراء يتفقون على ميثاق مناخي جديد بعد ليلة مفاوضات قياسية",
    "he": "השרים הסכימו על אמנת אקלים חדשה לאחר לילה של שיחות",
    "hi": "रिकॉर्ड तोड़ बातचीत की रात के बाद मंत्रियों ने नए जलवायु समझौते पर सहमति जताई",
    "zh": "部长们在创纪录的谈判之夜后就新的气候公约达成一致",
    "ja": "記録的な夜の交渉の末、閣僚が新たな気候協定で合意",
    "ko": "장관들, 기록적인 밤샘 협상 끝에 새로운 기후 협약에 합의",
    "es": "Los ministros acuerdan un nuevo pacto climático 🌍",
}
N = int(os.environ.get("BENCH_CARDS", "60"))


def stories(n: int) -> list[Story]:
    langs = sorted(HEADLINES)
    out = []
    for i in range(n):
        lang = langs[i % len(langs)]
        out.append(
            Story(
                id=f"s{i}",
                source="bench",
                url=f"https://news.example/{i}",
                title=f"{HEADLINES[lang]} {i}",
                language=lang,
                status=StoryStatus.PUBLISHED,
                published_at=None,
                sections=("World",),
            )
        )
    return out


def naive(directory: Path, batch: list[Story]) -> float:
    started = time.process_time()
    for story in batch:
        # a new maker per card: a fresh font chain (fontconfig, character maps) every time
        maker = CardMaker(directory, brand_name="Meridian", brand_color="#0b3d91")
        og = maker.draw(story, "og", None)
        square = maker.draw(story, "square", None)
        og.save(directory / f"{story.id}-og.png", optimize=True)
        square.save(directory / f"{story.id}-sq.png", optimize=True)
        og.convert("RGB").save(directory / f"{story.id}-t.jpg", quality=95, optimize=True)
    return time.process_time() - started


def main() -> None:
    batch = stories(N)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "naive").mkdir()
        t_naive = naive(base / "naive", batch[: max(10, N // 3)])
        naive_n = max(10, N // 3)
        maker = CardMaker(base / "cards", brand_name="Meridian", brand_color="#0b3d91")
        started = time.process_time()
        for story in stories(
            len(HEADLINES)
        ):  # warm-up: font chains and character maps, once per run
            maker.draw(story, "og", None)
        t_warm = time.process_time() - started
        started = time.process_time()
        made = [maker.card_set(s) for s in batch]
        t_ours = time.process_time() - started
        rendered = sum(not c.cached for c in made)
        again_maker = CardMaker(base / "cards", brand_name="Meridian", brand_color="#0b3d91")
        started = time.process_time()
        again = [again_maker.card_set(s) for s in batch]
        t_again = time.process_time() - started
        rendered_again = sum(not c.cached for c in again)
    ours_rate = N / t_ours
    naive_rate = naive_n / t_naive
    figures = {
        "bench": "cards",
        "stories": N,
        "scripts": len(HEADLINES),
        "cores": 1,
        "clock": "CPU seconds of this process (the machine is shared; wall time would count others' work)",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "card_sets_per_second_per_core": round(ours_rate, 1),
        "images_per_second_per_core": round(ours_rate * 3, 1),
        "naive_card_sets_per_second_per_core": round(naive_rate, 1),
        "speedup_vs_naive": round(ours_rate / naive_rate, 2),
        "rendered_first_run": rendered,
        "rendered_second_run": rendered_again,
        "second_run_seconds": round(t_again, 4),
        "warm_up_seconds_once_per_process": round(t_warm, 2),
        "target_images_per_second_per_core": 50,
        "meets_target": ours_rate * 3 >= 50,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
