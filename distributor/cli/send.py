"""``distributor send --list NAME --test-to ADDRESS``: one real test message.

The message is the list's next (or latest) edition exactly as a subscriber
would get it, addressed to ADDRESS, and goes through the list's configured
mail transport.  Nothing is recorded in the ledger; the unsubscribe link in
it is signed for no subscriber (id 0), so following it unsubscribes nobody.
"""

from __future__ import annotations

import json
import sys

import click
from email_validator import EmailNotValidError, validate_email

from distributor.cli.common import EXIT_ERROR, CliState, errors_as_one_line, open_context
from distributor.cli.preview import build_preview


@click.command()
@click.option("--list", "list_name", required=True, metavar="NAME", help="The list to send from.")
@click.option("--test-to", "test_to", required=True, metavar="ADDRESS", help="Send the test here.")
@click.option(
    "--lang", "language", metavar="xx", help="The edition language (default: newsroom's)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@click.pass_obj
def send(
    state: CliState, list_name: str, test_to: str, language: str | None, as_json: bool
) -> None:
    """Send one real test message of a list through its configured mail transport."""
    try:
        address = validate_email(test_to, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise click.BadParameter(str(err), param_hint="--test-to") from err
    with errors_as_one_line(state.debug):
        settings = state.settings()
        with open_context(settings) as ctx:
            result = build_preview(ctx, list_name, language=language, test_to=address)
            transport = settings.lists[list_name].mail
            backend = ctx.mail_backend(transport)
            outcome = backend.send_batch([result.message])[0]
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
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    elif outcome.state == "sent":
        click.echo(
            f"sent test message of {list_name} {result.edition.key} [{result.edition.language}] "
            f"to {address} via {transport}"
            + (f" ({outcome.provider_id})" if outcome.provider_id else "")
        )
    if outcome.state != "sent":
        if not as_json:
            click.echo(f"distributor: error: test message not sent: {outcome.error}", err=True)
        sys.exit(EXIT_ERROR)
