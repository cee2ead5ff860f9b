"""``distributor db``: the database schema and its migrations (Alembic).

Commands open the database without migrating it, then do exactly what they say.
By default every other command brings the schema to the newest revision itself
(``database_auto_upgrade = true``); deployments that migrate as a separate step set it
to false and run ``distributor db upgrade`` (``db check`` tells a deploy script whether
one is due).
"""

from __future__ import annotations

import click

from distributor.cli.common import CliState, errors_as_one_line, fail, print_json
from distributor.service import database


@click.group()
def db() -> None:
    """The database schema: upgrade it, see where it stands."""


@db.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def db_upgrade(state: CliState, as_json: bool) -> None:
    """Bring the schema to the newest revision (adopting a database made before migrations)."""
    with errors_as_one_line(state):
        before, after = database.upgrade(state.settings())
    if as_json:
        print_json({"from": before.current, **after.to_dict()})
    elif before.current == after.current:
        click.echo(f"database already at {after.current}")
    else:
        click.echo(f"database upgraded: {before.current or 'empty'} -> {after.current}")


@db.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def db_current(state: CliState, as_json: bool) -> None:
    """Show the database's revision and the newest one this version knows."""
    with errors_as_one_line(state):
        now = database.status(state.settings())
    if as_json:
        print_json(now.to_dict())
        return
    current = now.current or ("none (tables without history)" if now.unversioned else "none")
    click.echo(f"current: {current}")
    click.echo(
        f"head:    {now.head}" + ("" if now.up_to_date else "  (run `distributor db upgrade`)")
    )


@db.command("check")
@click.pass_obj
def db_check(state: CliState) -> None:
    """Exit non-zero with one line when the schema is behind or differs from this version's."""
    with errors_as_one_line(state):
        settings = state.settings()
        now = database.status(settings)
        if not now.up_to_date:
            fail(
                f"the database schema is at {now.current or 'no revision'}, this version needs "
                f"{now.head}: run `distributor db upgrade`"
            )
        drift = database.differences(settings)
    if drift:
        fail(
            f"the database schema is at {now.head} but differs from it in {len(drift)} "
            f"place(s), first {drift[0]!r}"
        )
    click.echo(f"database schema up to date ({now.head})")


@db.command("stamp")
@click.argument("revision")
@click.pass_obj
def db_stamp(state: CliState, revision: str) -> None:
    """Record REVISION as the schema's revision without running migrations."""
    with errors_as_one_line(state):
        now = database.stamp(state.settings(), revision)
    click.echo(f"database stamped at {now.current}")
