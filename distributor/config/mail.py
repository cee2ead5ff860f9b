"""``[mail.NAME]``: the mail transports (file, SMTP, the HTTP providers) and their secrets.

A provider's backend (``distributor/mail/<provider>.py``) imports its model from here; the
``MailConfig`` union below is the explicit list the loader validates against.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    SecretStr,
)

from distributor.config.base import _Section


class FileMailConfig(_Section):
    provider: Literal["file"]
    enabled: bool = True
    directory: str = "outbox/mail"


class SmtpConfig(_Section):
    provider: Literal["smtp"]
    enabled: bool = True
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=100, ge=1)
    ca_file: str | None = None
    # mail providers (issue 5): connection pool and DKIM
    pool_size: int = Field(default=1, ge=1, le=32)  # connections used in parallel, kept open
    max_messages_per_connection: int = Field(default=100, ge=1)
    dkim_selector: str | None = None
    dkim_domain: str | None = None  # default: the sender's domain
    dkim_private_key: SecretStr | None = None  # PEM, from DISTRIBUTOR_MAIL_<NAME>_DKIM_PRIVATE_KEY
    dkim_private_key_file: str | None = None
    soft_bounce_threshold: int = Field(default=3, ge=1)


# --- mail providers (issue 5) ---
class _HttpMailConfig(_Section):
    """What every HTTP provider takes."""

    enabled: bool = True
    base_url: str | None = None  # regions, proxies, tests; the provider's API root by default
    timeout: float = Field(default=30.0, gt=0)
    rate_limit: float | None = Field(default=None, gt=0)  # messages per second
    max_retries: int = Field(default=4, ge=0, le=20)
    max_retry_wait: float = Field(default=120.0, gt=0)  # longer Retry-After: stop this run
    batch_size: int | None = Field(default=None, ge=1)  # capped at the provider's limit
    soft_bounce_threshold: int = Field(default=3, ge=1)


class MailgunConfig(_HttpMailConfig):
    provider: Literal["mailgun"]
    domain: str
    region: Literal["us", "eu"] = "us"
    api_key: SecretStr | None = None
    webhook_signing_key: SecretStr | None = None


class SendGridConfig(_HttpMailConfig):
    provider: Literal["sendgrid"]
    api_key: SecretStr | None = None
    # the "Verification Key" of the signed event webhook (base64 DER or PEM)
    webhook_public_key: str | None = None


class PostmarkConfig(_HttpMailConfig):
    provider: Literal["postmark"]
    message_stream: str = "broadcast"
    server_token: SecretStr | None = None
    webhook_username: str | None = None
    webhook_password: SecretStr | None = None


class SesConfig(_HttpMailConfig):
    provider: Literal["ses"]
    region: str = "us-east-1"
    configuration_set: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    # SNS topics whose notifications the webhook accepts (all when empty)
    sns_topic_arns: tuple[str, ...] = ()


class ResendConfig(_HttpMailConfig):
    provider: Literal["resend"]
    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None


class BrevoConfig(_HttpMailConfig):
    provider: Literal["brevo"]
    api_key: SecretStr | None = None
    webhook_username: str | None = None
    webhook_password: SecretStr | None = None


HttpMailConfig = (
    MailgunConfig | SendGridConfig | PostmarkConfig | SesConfig | ResendConfig | BrevoConfig
)

MailConfig = Annotated[
    FileMailConfig
    | SmtpConfig
    | MailgunConfig
    | SendGridConfig
    | PostmarkConfig
    | SesConfig
    | ResendConfig
    | BrevoConfig,
    Field(discriminator="provider"),
]


# mail providers (issue 5): secret field -> required when the provider is enabled
_MAIL_SECRETS: dict[str, dict[str, bool]] = {
    "mailgun": {"api_key": True, "webhook_signing_key": False},
    "sendgrid": {"api_key": True},
    "postmark": {"server_token": True, "webhook_password": False},
    "ses": {"access_key_id": True, "secret_access_key": True, "session_token": False},
    "resend": {"api_key": True, "webhook_secret": False},
    "brevo": {"api_key": True, "webhook_password": False},
}
