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
import yaml  # type: ignore[import-untyped]
from frontmatter.default_handlers import YAMLHandler
from markdown_it import MarkdownIt

from distributor.config import MarkdownSourceConfig
from distributor.errors import SourceError
from distributor.sources.base import FetchResult, Source, Validators
from distributor.sources.normalize import RawItem, language_tag, normalize

# front matter is a few keys: more aliases than this is a YAML "billion laughs" bomb
MAX_ALIASES = 20
MAX_DEPTH = 50


class FrontMatterTooComplex(yaml.YAMLError):  # type: ignore[misc]
    """Front matter with too many aliases or nested too deep to be a story's keys."""


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, refusing alias bombs and deep nesting before they cost memory."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise FrontMatterTooComplex(f"more than {MAX_ALIASES} aliases (an alias bomb?)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise FrontMatterTooComplex(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _FrontMatter(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=_BoundedLoader)  # a SafeLoader subclass


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
        if len(files) > cfg.max_items:
            problems.append(
                f"the folder has {len(files)} files; only the first {cfg.max_items} "
                "were read (max_items)"
            )
            files = files[: cfg.max_items]
        handler = _FrontMatter()
        for index, path in enumerate(files, start=1):
            rel = path.relative_to(folder).as_posix()
            try:
                if path.stat().st_size > cfg.max_bytes:
                    problems.append(
                        f"{rel}: larger than the size cap ({cfg.max_bytes} bytes); skipped"
                    )
                    continue
                post = frontmatter.loads(path.read_text(encoding="utf-8"), handler=handler)
            except UnicodeDecodeError:
                problems.append(f"{rel}: not UTF-8 text; skipped")
                continue
            except OSError as err:
                problems.append(f"{rel}: cannot read: {err.strerror}; skipped")
                continue
            except FrontMatterTooComplex as err:
                problems.append(f"{rel}: front matter refused: {err}; skipped")
                continue
            except yaml.YAMLError as err:  # the YAML parser raises its own tree of errors
                problems.append(f"{rel}: bad front matter: {str(err).splitlines()[0]}; skipped")
                continue
            if not isinstance(post.metadata, dict):  # pragma: no cover - frontmatter ensures it
                problems.append(f"{rel}: front matter is not a mapping; skipped")
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
        slug = _text(meta.get("slug")) or stem
        folder_rel = str(Path(rel).parent.as_posix())
        key = f"{folder_rel}/{stem}" if folder_rel != "." else stem
        group = _text(meta.get("translation_group")) or _text(meta.get("translationKey"))
        if group is None and file_lang:
            group = f"md:{self.name}:{key}"
        sections = meta.get("sections") or meta.get("tags") or meta.get("categories") or []
        if isinstance(sections, str):
            sections = [sections]
        elif not isinstance(sections, list):
            sections = []
        draft = meta.get("draft")
        return RawItem(
            index=index,
            guid=_text(meta.get("id")) or f"md:{self.name}:{rel}",
            url=_text(meta.get("url")) or slug,
            title=_text(meta.get("title")) or "",
            summary=_text(meta.get("summary")) or _text(meta.get("description")) or "",
            summary_is_text=True,
            body=body,
            image=_text(meta.get("image")),
            author=_text(meta.get("author")),
            sections=[t for t in (_text(s) for s in sections) if t],
            language=_text(meta.get("language")) or _text(meta.get("lang")) or file_lang,
            published=meta.get("published") or meta.get("date"),
            updated=meta.get("updated") or meta.get("lastmod"),
            status=_text(meta.get("status")),
            draft=draft is True or str(draft).lower() in ("true", "yes"),
            translation_group=str(group) if group else None,
        )


def _text(value: Any) -> str | None:
    """A front matter scalar as text; a list or a mapping is not one (and could be huge)."""
    if value is None or isinstance(value, list | dict | set | tuple):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**100:
        return None
    text = str(value)
    return text or None


def _rename(problem: str, files: list[Path], folder: Path) -> str:
    m = re.match(r"^item (\d+):", problem)
    if not m:
        return problem
    return files[int(m.group(1)) - 1].relative_to(folder).as_posix() + ":" + problem[m.end() :]
