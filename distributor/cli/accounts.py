"""``distributor editors list|remove|role`` and ``distributor tokens list|revoke``.

The groups (and ``editors add``, ``tokens create``) live in :mod:`distributor.cli.subscribers`;
these commands join them and call :mod:`distributor.service.accounts` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click

from distributor.cli.common import CliState, errors_as_one_line, open_context, print_listing
from distributor.cli.subscribers import editors, tokens
from distributor.service import Context
from distributor.service import accounts as service


@contextmanager
def _context(state: CliState) -> Iterator[Context]:
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            yield ctx


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "never"


@editors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def editors_list(state: CliState, as_json: bool) -> None:
    """Every dashboard account: address, role, created, last login."""
    with _context(state) as ctx:
        found = service.editors(ctx)
    print_listing(
        as_json,
        [e.to_dict() for e in found],
        ("email", "role", "created", "last login"),
        ((e.email, e.role, _when(e.created_at), _when(e.last_login_at)) for e in found),
        title="editors",
    )


@editors.command("remove")
@click.argument("email")
@click.pass_obj
def editors_remove(state: CliState, email: str) -> None:
    """Remove an account (its sessions end at their next request). Not the last admin."""
    with _context(state) as ctx:
        removed = service.remove_editor(ctx, email.strip())
    click.echo(f"{removed.email}: removed ({removed.role})")


@editors.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(service.ROLES))
@click.pass_obj
def editors_role(state: CliState, email: str, role: str) -> None:
    """Make an editor an ``editor`` or an ``admin``. The last admin stays one."""
    with _context(state) as ctx:
        old, new = service.set_role(ctx, email.strip(), role)
    click.echo(
        f"{email.strip().lower()}: {old} -> {new}" if old != new else f"{email}: already {new}"
    )


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tokens_list(state: CliState, as_json: bool) -> None:
    """Every API token by name, with when it was made and last used (never the token)."""
    with _context(state) as ctx:
        found = service.tokens(ctx)
    print_listing(
        as_json,
        [t.to_dict() for t in found],
        ("name", "created", "last used"),
        ((t.name, _when(t.created_at), _when(t.last_used_at)) for t in found),
        title="API tokens",
    )


@tokens.command("revoke")
@click.argument("name")
@click.pass_obj
def tokens_revoke(state: CliState, name: str) -> None:
    """Delete a token: the API refuses it from now on."""
    with _context(state) as ctx:
        service.revoke_token(ctx, name)
    click.echo(f"token {name!r} revoked")
