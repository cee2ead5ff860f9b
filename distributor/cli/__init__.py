"""The command line: a thin door onto the pipeline.

Every command that lists or reports takes ``--json``.  Errors go to stderr as
one line and a non-zero exit status (``--debug`` shows the traceback).

Exit status: 0 success; 1 an error stopped the command; 2 bad usage;
3 the run finished but something failed or is uncertain (see the report).

Each area keeps its commands in its own module here and registers them below,
one line each.
"""

from distributor.cli.app import main
from distributor.cli.db import db
from distributor.cli.editions import editions
from distributor.cli.preview import preview

# --- command registry: one line per module of commands -----------------------
from distributor.cli.providers import providers  # mail providers (issue 5)
from distributor.cli.schedule import schedule, scheduler
from distributor.cli.send import send
from distributor.cli.serve import serve
from distributor.cli.stats import stats  # reach and engagement (issue 17)
from distributor.cli.stories import stories
from distributor.cli.subscribers import editors, subscribers, tokens

main.add_command(serve)
main.add_command(stories)
main.add_command(subscribers)  # web (issue 7): subscribers, editions, editors, tokens
main.add_command(editions)
main.add_command(editors)
main.add_command(tokens)
main.add_command(providers)  # mail providers (issue 5)

from distributor.cli.social import cards, links, post  # noqa: E402

for _command in (cards, links, post):
    main.add_command(_command)
main.add_command(preview)
main.add_command(scheduler)
main.add_command(schedule)
main.add_command(send)
main.add_command(db)  # database migrations (issue 9)
main.add_command(stats)  # reach and engagement (issue 17)

from distributor.cli import accounts as _accounts  # noqa: E402,F401 - editors list|remove|role, tokens list|revoke (issue 19)
from distributor.cli.demo import demo  # noqa: E402 - issue 19

main.add_command(demo)

from distributor.cli.worker import worker  # noqa: E402 - workers (issue 9)

main.add_command(worker)

from distributor.cli.posts import posts  # noqa: E402 - the social queue (issue 18)
from distributor.cli.stats import stats  # noqa: E402

main.add_command(posts)
main.add_command(stats)

__all__ = ["main"]
