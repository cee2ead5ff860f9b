"""Explicit registries of mail backends and social channels.

Built-in providers are listed here by name -> ``module:Class`` and imported
only when used.  Third parties add theirs through the entry-point groups
``distributor.mail`` and ``distributor.social``.  No directory scanning.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from distributor.errors import ConfigError

MAIL_BACKENDS: dict[str, str] = {
    "file": "distributor.mail.file:FileMailBackend",
    "smtp": "distributor.mail.smtp:SmtpBackend",
    # mail providers (issue 5)
    "mailgun": "distributor.mail.mailgun:MailgunBackend",
    "sendgrid": "distributor.mail.sendgrid:SendGridBackend",
    "postmark": "distributor.mail.postmark:PostmarkBackend",
    "ses": "distributor.mail.ses:SesBackend",
    "resend": "distributor.mail.resend:ResendBackend",
    "brevo": "distributor.mail.brevo:BrevoBackend",
}

SOCIAL_CHANNELS: dict[str, str] = {
    "file": "distributor.social.file:FileChannel",
    # social networks (issue 6)
    "mastodon": "distributor.social.mastodon:MastodonChannel",
    "bluesky": "distributor.social.bluesky:BlueskyChannel",
    "x": "distributor.social.x:XChannel",
    "telegram": "distributor.social.telegram:TelegramChannel",
    "facebook": "distributor.social.facebook:FacebookChannel",
    "linkedin": "distributor.social.linkedin:LinkedInChannel",
    "threads": "distributor.social.threads:ThreadsChannel",
    "discord": "distributor.social.discord:DiscordChannel",
    "slack": "distributor.social.slack:SlackChannel",
}


def _load(kind: str, name: str, builtins: dict[str, str]) -> Any:
    target = builtins.get(name)
    if target is None:
        for ep in entry_points(group=f"distributor.{kind}"):
            if ep.name == name:
                return ep.load()
        known = ", ".join(sorted(builtins))
        raise ConfigError(f"unknown {kind} provider {name!r} (known: {known})")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def mail_backend_class(provider: str) -> Any:
    return _load("mail", provider, MAIL_BACKENDS)


def social_channel_class(provider: str) -> Any:
    return _load("social", provider, SOCIAL_CHANNELS)
