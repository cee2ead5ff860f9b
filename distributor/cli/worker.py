"""``distributor worker``: Dramatiq workers in this process (issue 9)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from distributor.cli.common import CliState, errors_as_one_line
from distributor.service.workers import Workers, run_workers


class _OneLine(logging.Formatter):
    """Log records as one line each: no tracebacks unless ``--debug``."""

    def __init__(self, debug: bool) -> None:
        super().__init__("distributor worker: %(levelname)s: %(name)s: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if not self.debug and record.exc_info:
            err = record.exc_info[1]
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            record.msg = f"{record.getMessage()} ({type(err).__name__}: {err})"
            record.args = None
        return " ".join(super().format(record).split())


@click.command()
@click.option("--threads", default=4, show_default=True, help="Tasks run at once in this process.")
@click.option(
    "--queues",
    "queues",
    multiple=True,
    metavar="NAME",
    help="Only these queues (repeatable). Default: [queue] queue_name.",
)
@click.pass_obj
def worker(state: CliState, threads: int, queues: tuple[str, ...]) -> None:
    """Run workers that send the batch tasks of `distributor run` (needs [queue]).

    Stops gracefully on SIGTERM or SIGINT: tasks in progress finish, the
    rest go back to the queue.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine(state.debug))
    root = logging.getLogger("dramatiq")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if state.debug else logging.WARNING)
    root.propagate = False
    with errors_as_one_line(state):
        settings = state.settings()
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        def started(w: Workers) -> None:
            click.echo(
                f"distributor worker: {w.threads} threads on {', '.join(w.queues)} "
                f"({w.broker_kind})",
                err=True,
            )

        def stopping() -> None:
            click.echo("distributor worker: stopping (tasks in progress finish)", err=True)

        run_workers(
            settings,
            state.clock,
            threads=threads,
            queues=queues,
            stop=stop,
            started=started,
            stopping=stopping,
        )
