"""The command line: a thin door onto the pipeline.

Every command that lists or reports takes ``--json``.  Errors go to stderr as
one line and a non-zero exit status (``--debug`` shows the traceback).

Exit status: 0 success; 1 an error stopped the command; 2 bad usage;
3 the run finished but something failed or is uncertain (see the report).

Each area keeps its commands in its own module here and registers them below,
one line each.
"""

from distributor.cli.app import main

# --- command registry: one line per module of commands -----------------------
from distributor.cli.schedule import schedule, scheduler
from distributor.cli.send_now import send
from distributor.cli.serve import serve

main.add_command(serve)
main.add_command(scheduler)
main.add_command(schedule)
main.add_command(send)

__all__ = ["main"]
