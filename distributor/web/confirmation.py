"""The double opt-in mail: the only message ever sent to an unconfirmed address."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from distributor.addresses import sending_form, sending_mailbox
from distributor.config import ListConfig
from distributor.models import Message
from distributor.service.messages import header_safe, send_one
from distributor.web.i18n import strings_for

__all__ = ["confirmation_message", "send_one"]


def confirmation_message(
    *,
    list_name: str,
    list_config: ListConfig,
    email: str,
    url: str,
    language: str,
    hours: int,
    now: datetime,
    key: str,
) -> Message:
    """A plain-text confirmation mail in the reader's language, as a ready :class:`Message`.

    The address goes in its sending form (:func:`distributor.addresses.sending_form`):
    the domain in ASCII, a non-ASCII local part as UTF-8 (sent with SMTPUTF8).
    Raises :class:`~distributor.errors.AddressError` for an address that cannot be sent.
    """
    address = sending_form(email)
    t = strings_for(language)
    title = header_safe(list_config.title_in(language))
    subject = header_safe(t["confirm_mail_subject"].format(list=title))
    body = t["confirm_mail_body"].format(email=email, list=title, hours=hours, url=url)
    sender = sending_mailbox(header_safe(list_config.from_address))  # an IDN domain in ASCII
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:24]}.confirm@{domain}>"

    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    local, _, domain_part = address.address.rpartition("@")
    msg["To"] = Address(username=local, domain=domain_part)
    if list_config.reply_to:
        msg["Reply-To"] = sending_mailbox(header_safe(list_config.reply_to))
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = language
    mime = {"mime-version", "content-type", "content-transfer-encoding"}
    return Message(
        key=key,
        sender=str(Address(addr_spec=parseaddr(sender)[1])),
        recipient=address.address,
        subject=subject,
        message_id=message_id,
        raw=msg.as_bytes(policy=SMTP.clone(utf8=True)) if address.smtputf8 else msg.as_bytes(),
        text=body,
        headers=tuple((k, str(v)) for k, v in msg.items() if k.lower() not in mime),
    )
