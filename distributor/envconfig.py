"""Configuration keys overridden from the environment (``DISTRIBUTOR_<SECTION>_<KEY>``).

The naming rule: ``DISTRIBUTOR_`` + the key's path in the TOML file, dots and dashes
as underscores, upper case.  ``[web] base_url`` is ``DISTRIBUTOR_WEB_BASE_URL``;
``[lists.daily] max_stories`` is ``DISTRIBUTOR_LISTS_DAILY_MAX_STORIES``;
``[scheduler] poll_minutes`` is ``DISTRIBUTOR_SCHEDULER_POLL_MINUTES``.

What can be overridden: every key of ``[newsroom]``, ``[web]``, ``[share]`` and
``[scheduler]``, and of each ``[lists.NAME]`` defined in the file, whose value is a
string, a number, a boolean, or a list of strings (written comma-separated:
``DISTRIBUTOR_WEB_TOPICS=world,climate``).  Tables (``topic_names``, ``utm_source``,
per-language titles) stay in the file.  Secrets keep their own variables (see
:mod:`distributor.config`); the environment wins over the file, and ``.env`` fills in
what the environment lacks.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from distributor.errors import ConfigError

PREFIX = "DISTRIBUTOR_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def variable(*path: str) -> str:
    """The environment variable of a key: ``variable("web", "base_url")``."""
    return (PREFIX + "_".join(path)).upper().replace("-", "_").replace(".", "_")


def _scalar_kind(annotation: Any) -> str | None:
    """``str``, ``int``, ``float``, ``bool``, ``list`` (of strings), or None (not overridable)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_kind(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds = {_scalar_kind(a) for a in get_args(annotation) if a is not type(None)}
        only: str | None = kinds.pop() if len(kinds) == 1 else None
        return only
    if origin is Literal:
        return "str" if all(isinstance(a, str) for a in get_args(annotation)) else None
    if origin in (tuple, list):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return "list" if args and all(_scalar_kind(a) == "str" for a in args) else None
    names: dict[Any, str] = {bool: "bool", int: "int", float: "float", str: "str"}
    return names.get(annotation)


def overridable(model: type[BaseModel]) -> Iterator[tuple[str, str]]:
    """(key, kind) of every key of ``model`` the environment may set."""
    for name, info in model.model_fields.items():
        kind = _scalar_kind(info.annotation)
        if kind is not None:
            yield name, kind


def _convert(var: str, text: str, kind: str) -> Any:
    value = text.strip()
    if kind == "bool":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(f"{var}: must be true or false (got {text!r})")
    if kind == "int":
        try:
            return int(value)
        except ValueError as err:
            raise ConfigError(f"{var}: must be a whole number (got {text!r})") from err
    if kind == "float":
        try:
            return float(value)
        except ValueError as err:
            raise ConfigError(f"{var}: must be a number (got {text!r})") from err
    if kind == "list":
        return [part.strip() for part in value.split(",") if part.strip()]
    return text


def apply_overrides(
    raw: dict[str, Any],
    env: Mapping[str, str],
    sections: Mapping[str, type[BaseModel]],
    named: Mapping[str, type[BaseModel]],
) -> list[str]:
    """Write into ``raw`` every key the environment sets; returns the variables used.

    ``sections``: single tables (``web`` -> its model); ``named``: groups of named
    tables (``lists`` -> the model of each ``[lists.NAME]`` of the file).
    """
    used: list[str] = []

    def apply(target: dict[str, Any], model: type[BaseModel], *path: str) -> None:
        for key, kind in overridable(model):
            var = variable(*path, key)
            if var in env and env[var] != "":
                target[key] = _convert(var, env[var], kind)
                used.append(var)

    for section, model in sections.items():
        table = raw.get(section)
        if table is None:
            table = {}
        if not isinstance(table, dict):
            continue
        before = len(used)
        apply(table, model, section)
        if len(used) > before:
            raw[section] = table
    for group, model in named.items():
        tables = raw.get(group)
        if not isinstance(tables, dict):
            continue
        for name, table in tables.items():
            if isinstance(table, dict):
                apply(table, model, group, name)
    return used
