"""``distributor send``: a test message, or an edition now.

``send --list NAME --test-to ADDRESS`` sends one real test message: the list's
next (or latest) edition exactly as a subscriber would get it, addressed to
ADDRESS, through the list's configured mail transport.  Nothing is recorded in
the ledger; the unsubscribe link in it is signed for no subscriber (id 0), so
following it unsubscribes nobody.

``send --list NAME --now`` makes and sends the list's edition now, outside its
schedule, recorded like a scheduled slot (see :func:`distributor.service.daily.send_list_now`).
"""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email

from distributor.cli.app import print_report
from distributor.cli.common import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    CliState,
    RichProgress,
    errors_as_one_line,
    fail,
    open_context,
    print_json,
)
from distributor.cli.terminal import SafeConsole
from distributor.service.daily import send_list_now
from distributor.service.previews import send_test_message
from distributor.text_safety import visible


@click.command()
@click.option("--list", "list_name", required=True, metavar="NAME", help="The list to send from.")
@click.option("--test-to", "test_to", metavar="ADDRESS", help="Send one test message here.")
@click.option("--now", is_flag=True, help="Make and send the list's edition now.")
@click.option("--lang", "language", metavar="xx", help="With --test-to: the edition language.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@click.pass_obj
def send(
    state: CliState,
    list_name: str,
    test_to: str | None,
    now: bool,
    language: str | None,
    as_json: bool,
) -> None:
    """Send a test message of a list (--test-to ADDRESS) or its edition now (--now)."""
    if bool(test_to) == now:
        fail("say what to send: --test-to ADDRESS or --now (one of them)", 2)
    if now:
        _send_now(state, list_name, as_json)
    else:
        assert test_to is not None
        _send_test(state, list_name, test_to, language, as_json)


def _send_now(state: CliState, list_name: str, as_json: bool) -> None:
    with errors_as_one_line(state):
        settings = state.settings()
        progress = RichProgress(SafeConsole(stderr=True))
        with progress.bars, open_context(settings, progress, clock=state.clock) as ctx:
            slot, report = send_list_now(ctx, list_name)
    if as_json:
        data = report.to_dict()
        data["edition_key"] = slot.edition_key
        print_json(data)
    else:
        print_report(report, SafeConsole())
        click.echo(f"edition {list_name}/{slot.edition_key}")
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def _send_test(
    state: CliState, list_name: str, test_to: str, language: str | None, as_json: bool
) -> None:
    try:
        address = validate_email(test_to, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise click.BadParameter(str(err), param_hint="--test-to") from err
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            result, outcome = send_test_message(ctx, list_name, address, language=language)
        transport = settings.lists[list_name].mail
    info = {
        "list": list_name,
        "edition": result.edition.key,
        "language": result.edition.language,
        "to": address,
        "transport": transport,
        "state": str(outcome.state),
        "provider_id": outcome.provider_id,
        "error": outcome.error,
        "message_id": result.message.message_id,
        "subject": result.message.subject,
    }
    if as_json:
        print_json(info)
    elif outcome.state == "sent":
        click.echo(
            f"sent test message of {list_name} {result.edition.key} [{result.edition.language}] "
            f"to {address} via {transport}"
            + (f" ({outcome.provider_id})" if outcome.provider_id else "")
        )
    if outcome.state != "sent":
        if not as_json:
            click.echo(
                f"distributor: error: test message not sent: {visible(str(outcome.error))}",
                err=True,
            )
        sys.exit(EXIT_ERROR)
