"""Checks of the configured mail providers (``distributor providers check``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import requests

from distributor.config import Settings
from distributor.errors import DistributorError
from distributor.mail.base import build_mail_backend


@dataclass(frozen=True)
class ProviderCheck:
    """One ``[mail.NAME]`` section checked with its provider's cheapest read-only call."""

    name: str
    provider: str
    ok: bool
    detail: str


def check_mail(settings: Settings, names: Sequence[str] = ()) -> list[ProviderCheck]:
    """Each named (default: each enabled) mail provider's settings and credentials."""
    wanted = names or tuple(n for n, c in settings.mail.items() if c.enabled)
    out = []
    for name in wanted:
        if name not in settings.mail:
            raise DistributorError(f"no mail provider named {name!r}")
        ok, detail = _check_one(name, settings)
        out.append(ProviderCheck(name, settings.mail[name].provider, ok, detail))
    return out


def _check_one(name: str, settings: Settings) -> tuple[bool, str]:
    try:
        backend = build_mail_backend(name, settings)
    except DistributorError as err:
        return False, str(err)
    try:
        result = backend.check()
    except DistributorError as err:
        return False, str(err)
    except requests.RequestException as err:
        return False, f"cannot reach the provider: {err}"
    finally:
        backend.close()
    return result.ok, result.detail
