"""The one :class:`Context` of a use case, and the one place it is built.

``Context.open(settings)`` is a context manager that owns what it opened (the
store, the HTTP session, the mail backends, social channels and the task queue)
and closes it on the way out.  A caller that already holds a store (a web app, a
scheduler thread) passes it in; the context then leaves it open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from distributor.clock import Clock, system_clock
from distributor.config import Settings
from distributor.mail.base import MailBackend, build_mail_backend
from distributor.social.base import SocialChannel, build_channel
from distributor.social.facts import NetworkFacts
from distributor.sources.base import USER_AGENT
from distributor.store import Store

if TYPE_CHECKING:
    from distributor.queue.broker import TaskQueue


__all__ = ["Context", "NetworkFacts", "Progress", "http_session"]


class Progress:
    """Hooks a front end can use to show progress; the default shows nothing."""

    def start(self, label: str, total: int) -> None:
        """A stage with ``total`` steps begins."""

    def advance(self, label: str, steps: int = 1) -> None:
        """``steps`` more steps of ``label`` are done."""


def http_session() -> requests.Session:
    """The HTTP session of a context: one per context, our User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass
class Context:
    """Everything a use case needs, passed in: no global state."""

    settings: Settings
    store: Store
    session: requests.Session
    clock: Clock = system_clock
    progress: Progress = field(default_factory=Progress)
    mail_backends: dict[str, MailBackend] = field(default_factory=dict)
    channels: dict[str, SocialChannel] = field(default_factory=dict)
    tasks: TaskQueue | None = None  # workers (issue 9): made on first use
    #: what networks said about themselves; a long-lived door passes its own to keep it
    facts: NetworkFacts = field(default_factory=NetworkFacts)

    @classmethod
    @contextmanager
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        progress: Progress | None = None,
        store: Store | None = None,
        facts: NetworkFacts | None = None,
    ) -> Iterator[Context]:
        """The context of one use case; closes what it opened (a given ``store`` stays open).
        ``facts``: a door's memory of what networks said about themselves (the web app's
        lives as long as the app), instead of a fresh one."""
        own_store = store is None
        if store is None:
            store = Store.open(settings.database_url, upgrade=settings.database_auto_upgrade)
        session = http_session()
        ctx = cls(
            settings=settings,
            store=store,
            session=session,
            clock=clock or system_clock,
            progress=progress or Progress(),
            facts=facts if facts is not None else NetworkFacts(clock or system_clock),
        )
        try:
            yield ctx
        finally:
            ctx.close()
            session.close()
            if own_store:
                store.close()

    def task_queue(self) -> TaskQueue:
        """The broker of ``[queue]`` (editions go to workers as batch tasks)."""
        if self.tasks is None:
            from distributor.queue import open_queue

            self.tasks = open_queue(self.settings, self.clock)
        return self.tasks

    def mail_backend(self, name: str) -> MailBackend:
        if name not in self.mail_backends:
            self.mail_backends[name] = build_mail_backend(name, self.settings)
        return self.mail_backends[name]

    def enabled_channels(self) -> dict[str, SocialChannel]:
        for name, cfg in self.settings.social.items():
            if cfg.enabled and name not in self.channels:
                self.channels[name] = build_channel(name, self.settings, self.facts)
        return self.channels

    def all_channels(self) -> dict[str, SocialChannel]:
        """Every defined channel, enabled or not (for dry runs: nothing is sent)."""
        out = dict(self.enabled_channels())
        for name in self.settings.social:
            if name not in out:
                out[name] = build_channel(name, self.settings, self.facts)
        return out

    def close(self) -> None:
        """Close the transports and the task queue (not the store or the session)."""
        for backend in self.mail_backends.values():
            backend.close()
        for channel in self.channels.values():
            channel.close()
        if self.tasks is not None:
            self.tasks.close()
