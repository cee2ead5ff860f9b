"""A folder of Markdown files with YAML front matter.

Front matter keys: ``title`` (required), ``date`` / ``published``, ``updated``,
``id``, ``url`` (else ``base_url`` + ``slug`` or the file name), ``summary``,
``image``, ``author``, ``tags`` / ``sections`` / ``categories``, ``language``
(else a suffix in the file name: ``story.fr.md``), ``status`` or ``draft``,
``translation_group`` / ``translationKey`` (else files that differ only by
the language suffix are translations of each other).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import frontmatter
from markdown_it import MarkdownIt

from distributor.config import MarkdownSourceConfig
from distributor.errors import SourceError
from distributor.sources.base import FetchResult, Source, Validators
from distributor.sources.normalize import RawItem, language_tag, normalize

_LANG_SUFFIX = re.compile(r"^(?P<stem>.+)\.(?P<lang>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)$")


class MarkdownSource(Source):
    """Every ``*.md`` file under a folder is one story."""

    def fetch(self, now: datetime, validators: Validators | None = None) -> FetchResult:
        cfg = self.config
        assert isinstance(cfg, MarkdownSourceConfig)
        folder = self.settings.resolve(cfg.path)
        if not folder.is_dir():
            raise SourceError(self.name, f"{folder} is not a folder")
        md = MarkdownIt("commonmark", {"html": True})
        problems: list[str] = []
        raws: list[RawItem] = []
        files = sorted(p for p in folder.glob(cfg.pattern) if p.is_file())
        for index, path in enumerate(files, start=1):
            rel = path.relative_to(folder).as_posix()
            try:
                if path.stat().st_size > cfg.max_bytes:
                    problems.append(
                        f"{rel}: larger than the size cap ({cfg.max_bytes} bytes); skipped"
                    )
                    continue
                post = frontmatter.loads(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                problems.append(f"{rel}: not UTF-8 text; skipped")
                continue
            except OSError as err:
                problems.append(f"{rel}: cannot read: {err.strerror}; skipped")
                continue
            except Exception as err:  # the YAML parser raises its own tree of errors
                problems.append(f"{rel}: bad front matter: {str(err).splitlines()[0]}; skipped")
                continue
            raws.append(self._raw(index, rel, path, post.metadata, md.render(post.content)))
        stories, item_problems = normalize(raws, self.defaults(cfg.base_url), now)
        item_problems = [_rename(p, files, folder) for p in item_problems]
        return FetchResult(
            self.name, tuple(stories), tuple(problems + item_problems), location=str(folder)
        )

    def _raw(self, index: int, rel: str, path: Path, meta: dict[str, Any], body: str) -> RawItem:
        stem = path.stem
        m = _LANG_SUFFIX.match(stem)
        file_lang = None
        if m and language_tag(m.group("lang")):
            stem, file_lang = m.group("stem"), m.group("lang")
        slug = str(meta.get("slug") or stem)
        folder_rel = str(Path(rel).parent.as_posix())
        key = f"{folder_rel}/{stem}" if folder_rel != "." else stem
        group = meta.get("translation_group") or meta.get("translationKey")
        if group is None and file_lang:
            group = f"md:{self.name}:{key}"
        sections = meta.get("sections") or meta.get("tags") or meta.get("categories") or []
        if isinstance(sections, str):
            sections = [sections]
        draft = meta.get("draft")
        return RawItem(
            index=index,
            guid=str(meta["id"]) if meta.get("id") is not None else f"md:{self.name}:{rel}",
            url=str(meta.get("url") or slug),
            title=str(meta.get("title") or ""),
            summary=str(meta.get("summary") or meta.get("description") or ""),
            summary_is_text=True,
            body=body,
            image=str(meta["image"]) if meta.get("image") else None,
            author=str(meta["author"]) if meta.get("author") else None,
            sections=[str(s) for s in sections],
            language=str(meta.get("language") or meta.get("lang") or file_lang or "") or None,
            published=meta.get("published") or meta.get("date"),
            updated=meta.get("updated") or meta.get("lastmod"),
            status=str(meta["status"]) if meta.get("status") is not None else None,
            draft=draft is True or str(draft).lower() in ("true", "yes"),
            translation_group=str(group) if group else None,
        )


def _rename(problem: str, files: list[Path], folder: Path) -> str:
    m = re.match(r"^item (\d+):", problem)
    if not m:
        return problem
    return files[int(m.group(1)) - 1].relative_to(folder).as_posix() + ":" + problem[m.end() :]
