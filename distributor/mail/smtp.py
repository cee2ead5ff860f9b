"""SMTP: one connection per batch, STARTTLS or implicit TLS, optional AUTH.

Each message is sent as MAIL / RCPT / DATA so the outcome is known per
recipient: a 4xx reply is a transient failure, a 5xx a permanent one, and a
connection lost *during* DATA leaves the message ``unknown`` (the server may
have accepted it), never silently resent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from typing import Any

from distributor.config import Settings, SmtpConfig
from distributor.errors import AuthenticationError, TransientProviderError
from distributor.mail.base import MailBackend
from distributor.models import DeliveryResult, Message


def _reply(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    return f"{code} {' '.join(text.split())}"


class SmtpBackend(MailBackend):
    provider = "smtp"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        super().__init__(name, config, settings)
        assert isinstance(config, SmtpConfig)
        self.cfg: SmtpConfig = config
        self.batch_size = config.batch_size

    def _tls_context(self) -> ssl.SSLContext:
        cafile = str(self.settings.resolve(self.cfg.ca_file)) if self.cfg.ca_file else None
        return ssl.create_default_context(cafile=cafile)

    def connect(self) -> smtplib.SMTP:
        """An open, secured and authenticated connection; closed again on any failure."""
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        conn: smtplib.SMTP | None = None
        try:
            if cfg.security == "tls":
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._tls_context()
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            conn.ehlo()
            if cfg.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TransientProviderError(self.name, f"{where} does not offer STARTTLS")
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password else ""
                conn.login(cfg.username, password)
        except BaseException as err:
            if conn is not None:
                conn.close()
            if isinstance(err, smtplib.SMTPAuthenticationError):
                raise AuthenticationError(
                    self.name,
                    f"{where} refused the credentials of {cfg.username!r}: "
                    f"{_reply(err.smtp_code, err.smtp_error)}",
                ) from err
            if isinstance(err, ssl.SSLError):
                raise TransientProviderError(self.name, f"TLS with {where} failed: {err}") from err
            if isinstance(err, OSError | smtplib.SMTPException):
                raise TransientProviderError(
                    self.name, f"cannot connect to {where}: {err}"
                ) from err
            raise
        return conn

    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        if not messages:
            return []
        conn: smtplib.SMTP | None = self.connect()
        results: list[DeliveryResult] = []
        try:
            for message in messages:
                if conn is None:
                    try:
                        conn = self.connect()
                    except TransientProviderError as err:
                        results.append(
                            DeliveryResult.failed(
                                message.key, f"not attempted: {err.reason}", retryable=True
                            )
                        )
                        continue
                result, alive = self._send_one(conn, message)
                results.append(result)
                if not alive:
                    _close(conn)
                    conn = None
        finally:
            if conn is not None:
                _close(conn, quit=True)
        return results

    def _send_one(self, conn: smtplib.SMTP, message: Message) -> tuple[DeliveryResult, bool]:
        """Send one message; returns its result and whether the connection is still usable."""
        key = message.key
        try:
            code, resp = conn.mail(message.sender)
            if code != 250:
                conn.rset()
                return _refused(key, "MAIL FROM", code, resp), code != 421
            code, resp = conn.rcpt(message.recipient)
            if code not in (250, 251):
                conn.rset()
                return _refused(key, "RCPT TO", code, resp), code != 421
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            return DeliveryResult.failed(
                key, f"connection lost before DATA: {err}", retryable=True
            ), False
        try:
            code, resp = conn.data(message.raw)
        except smtplib.SMTPDataError as err:
            return _refused(key, "DATA", err.smtp_code, err.smtp_error), True
        except smtplib.SMTPResponseException as err:
            return _refused(key, "DATA", err.smtp_code, err.smtp_error), err.smtp_code != 421
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            return DeliveryResult.unknown(
                key, f"connection lost during DATA; the server may have accepted it: {err}"
            ), False
        if code != 250:
            return _refused(key, "DATA", code, resp), True
        return DeliveryResult.sent(key, provider_id=_reply(code, resp)), True


def _refused(key: str, stage: str, code: int, resp: bytes | str) -> DeliveryResult:
    transient = 400 <= code < 500
    return DeliveryResult.failed(key, f"{stage} refused: {_reply(code, resp)}", retryable=transient)


def _close(conn: smtplib.SMTP, quit: bool = False) -> None:
    try:
        if quit:
            conn.quit()
        else:
            conn.close()
    except (OSError, smtplib.SMTPException):
        conn.close()
