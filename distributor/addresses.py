"""Recipient addresses in the form a transport sends them.

A subscriber's address is stored as the reader typed it (normalized by
``email_validator``): the domain may be an internationalized name
(``bücher.example``) and the local part may hold non-ASCII characters
(``josé.garcía``).  Before a message is built the address is put in its
sending form by :func:`sending_form`:

* the domain always in its ASCII (IDNA, "punycode") form, which every
  server and provider accepts;
* a non-ASCII local part kept as it is, and the address marked ``smtputf8``:
  it can only travel over SMTP with the ``SMTPUTF8`` extension (RFC 6531),
  so a transport that cannot offer it fails that one recipient with the
  reason (:attr:`distributor.mail.base.MailBackend.smtputf8`);
* an address that cannot be read at all raises :class:`AddressError`, again
  for that one recipient only.

Plain ASCII addresses, nearly all of them, take a fast path with no parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from distributor.errors import AddressError

#: a plain ASCII address: its own sending form (no parsing needed)
PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9.-]+"
)


@dataclass(frozen=True, slots=True)
class SendingAddress:
    """An address ready for the envelope and the ``To`` header."""

    address: str
    #: the local part is not ASCII: only SMTP with SMTPUTF8 can carry it
    smtputf8: bool = False


def sending_form(address: str) -> SendingAddress:
    """The address with its domain in ASCII; see the module docstring.

    Raises :class:`AddressError` (naming the address and why) when it cannot be sent.
    """
    if PLAIN_ADDRESS.fullmatch(address):
        return SendingAddress(address)
    try:
        valid = validate_email(
            address, check_deliverability=False, allow_smtputf8=True, allow_display_name=False
        )
    except EmailNotValidError as err:
        raise AddressError(address, str(err)) from err
    domain = valid.ascii_domain
    local = valid.local_part
    if valid.ascii_email:
        return SendingAddress(valid.ascii_email)
    return SendingAddress(f"{local}@{domain}", smtputf8=True)


def has_non_ascii_local_part(address: str) -> bool:
    """Whether ``address`` needs SMTPUTF8 (its local part is not ASCII)."""
    return not address.rpartition("@")[0].isascii()


def check_sender(value: str) -> None:
    """``ValueError`` (for the configuration's validation) unless ``value``, a
    ``Name <addr>`` or a bare address, can be sent from by every transport."""
    from email.utils import parseaddr

    addr = parseaddr(value)[1]
    if not addr or PLAIN_ADDRESS.fullmatch(addr):
        return
    try:
        form = sending_form(addr)
    except AddressError as err:
        raise ValueError(f"{addr!r} is not an address: {err.reason}") from err
    if form.smtputf8:
        raise ValueError(f"{addr!r}: {_LOCAL_ASCII}")


_LOCAL_ASCII = "a sender's local part must be ASCII (it cannot go without SMTPUTF8)"


def sending_mailbox(value: str) -> str:
    """A configured ``Name <addr>`` (``from_address``, ``reply_to``) with the domain in ASCII.

    ``Meridian <digest@bücher.example>`` -> ``Meridian <digest@xn--bcher-kva.example>``:
    every transport, SMTP envelope and HTTP API takes the IDNA form.  A sender whose
    local part is not ASCII could only go over SMTPUTF8 and is refused with the reason
    (:class:`AddressError`): a newsroom's sender must reach every reader's server.
    """
    from email.utils import parseaddr

    from distributor.render.fastmime import display_address

    name, addr = parseaddr(value)
    if not addr or PLAIN_ADDRESS.fullmatch(addr):
        return value
    form = sending_form(addr)
    if form.smtputf8:
        raise AddressError(
            addr, "a sender's local part must be ASCII (it cannot go without SMTPUTF8)"
        )
    return display_address(name, form.address) if name else form.address
