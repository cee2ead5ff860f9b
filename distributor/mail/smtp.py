"""SMTP: pooled connections, STARTTLS or implicit TLS, optional AUTH, DKIM.

A backend (one per transport) holds at most ``pool_size`` connections, in use
or idle, however many threads send through it: a batch is split over as many
of them as are free (at least one; it waits for one when all are taken), and
connections are kept open and reused across batches and replaced after
``max_messages_per_connection`` messages.
Every connection has ``TCP_NODELAY`` set before its first byte: without it
Nagle's algorithm holds back the tail of each message (and each TLS record)
until the server's delayed ACK, tens of milliseconds per message.
Certificates are always checked.  A pooled connection that the server has
dropped meanwhile is replaced and the message tried again (nothing of it had
been sent).

Each message is sent as MAIL / RCPT / DATA so the outcome is known per
recipient: a 4xx reply is a transient failure, a 5xx a permanent one, a 421
closes the connection (the next message gets a new one), and a connection
lost *during* DATA leaves the message ``unknown`` (the server may have
accepted it), never silently resent.

An address whose local part is not ASCII (``josé@example.com``) is sent with
``MAIL FROM:<...> SMTPUTF8`` (RFC 6531) when the server offers the extension;
when it does not, that one recipient fails (not retryable) with the reason
and the rest of the batch goes on.

With a DKIM key configured, every message is signed with dkimpy (relaxed /
simple), the List-Unsubscribe headers included in the signature.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import dkim

from distributor.config import Settings, SmtpConfig
from distributor.errors import (
    AuthenticationError,
    ConfigError,
    ProviderError,
    TransientProviderError,
)
from distributor.mail.base import CheckResult, MailBackend
from distributor.models import DeliveryResult, Message

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: signed when present: the identity, the content and the one-click unsubscribe headers
DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "Content-Language",
)
_MIME = {"mime-version", "content-type"}


class _Smtp(smtplib.SMTP):
    """``smtplib.SMTP`` whose socket has ``TCP_NODELAY`` set as soon as it is connected."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        """``smtplib.SMTP.data`` with the dot-stuffing done by ``bytes.replace``.

        smtplib escapes leading dots with a multi-line regular expression, which
        costs about 0.4 ms on a 60 KB digest, as much as sending it on loopback;
        ``^`` in multi-line mode matches at the start and after each LF, so
        replacing LF-dot does exactly the same.  Replies and errors as smtplib's.
        """
        if not isinstance(msg, bytes):
            return super().data(msg)
        self.putcmd("data")
        code, repl = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        q = msg.replace(b"\n.", b"\n..")
        if q[:1] == b".":
            q = b"." + q
        if q[-2:] != b"\r\n":
            q += b"\r\n"
        self.send(q + b".\r\n")
        return self.getreply()


class _SmtpSsl(smtplib.SMTP_SSL, _Smtp):
    """Implicit TLS: ``SMTP_SSL`` wraps the socket ``_Smtp`` connected (MRO:
    ``SMTP_SSL`` -> ``_Smtp`` -> ``SMTP``), so the option is set before the handshake."""


class _Pool:
    """At most ``size`` connections of one transport, in use or idle.

    A *slot* is the right to hold one connection.  ``acquire`` hands out a slot
    with an idle connection when there is one, else an empty slot (the caller
    connects), else waits; ``release`` gives it back, with the connection to keep
    or without.
    """

    def __init__(self, size: int, wait: float) -> None:
        self.size = size
        self.wait = wait
        self.idle: list[tuple[smtplib.SMTP, int]] = []  # open connections, messages sent on each
        self.empty = size  # free slots without a connection
        self.waiting = 0  # threads waiting for a slot (observed by tests)
        self.cond = threading.Condition()

    def acquire(self, block: bool) -> tuple[smtplib.SMTP | None, int] | None:
        """(connection or None, messages sent on it); None when ``block`` is False and
        every slot is taken.  Raises ``TimeoutError`` after ``wait`` seconds blocked."""
        with self.cond:
            if not self.idle and not self.empty:
                if not block:
                    return None
                self.waiting += 1
                try:
                    if not self.cond.wait_for(lambda: self.idle or self.empty, self.wait):
                        raise TimeoutError
                finally:
                    self.waiting -= 1
            if self.idle:
                return self.idle.pop()
            self.empty -= 1
            return None, 0

    def release(self, conn: smtplib.SMTP | None, count: int, keep: bool) -> None:
        """Give a slot back; its connection is kept idle when ``keep``, else closed."""
        with self.cond:
            if conn is not None and keep:
                self.idle.append((conn, count))
                conn = None
            else:
                self.empty += 1
            self.cond.notify()
        if conn is not None:
            _close(conn, quit=True)

    def drain(self) -> list[smtplib.SMTP]:
        """Take every idle connection out (their slots become empty)."""
        with self.cond:
            conns = [c for c, _ in self.idle]
            self.empty += len(self.idle)
            self.idle.clear()
            self.cond.notify_all()
        return conns


def _reply(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    return f"{code} {' '.join(text.split())}"


class SmtpBackend(MailBackend):
    provider = "smtp"
    needs_parts = False  # sends Message.raw
    idempotent = False
    smtputf8 = True  # per connection: when the server offers SMTPUTF8

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        super().__init__(name, config, settings)
        assert isinstance(config, SmtpConfig)
        self.cfg: SmtpConfig = config
        self.batch_size = config.batch_size
        # waiting for a slot longer than a stuck server could hold one is a failure
        self.pool = _Pool(config.pool_size, wait=4 * config.timeout)
        self.connections_opened = 0
        self.lock = threading.Lock()
        self.dkim_key = self._dkim_key()

    def _dkim_key(self) -> bytes | None:
        cfg = self.cfg
        if cfg.dkim_private_key is not None:
            key = cfg.dkim_private_key.get_secret_value().encode()
        elif cfg.dkim_private_key_file:
            try:
                key = self.settings.resolve(cfg.dkim_private_key_file).read_bytes()
            except OSError as err:
                raise ConfigError(
                    f"mail.{self.name}.dkim_private_key_file: cannot read: {err}"
                ) from err
        else:
            return None
        if not cfg.dkim_selector:
            raise ConfigError(f"mail.{self.name}.dkim_selector: required with a DKIM key")
        return key

    def sign(self, message: Message) -> bytes:
        """The message, DKIM-signed when a key is configured."""
        if self.dkim_key is None:
            return message.raw
        domain = self.cfg.dkim_domain or parseaddr(message.sender)[1].rpartition("@")[2]
        present = {k.lower() for k, _ in message.headers}
        wanted = [h for h in DKIM_HEADERS if h.lower() in present or h.lower() in _MIME]
        try:
            signature = dkim.sign(
                message.raw,
                (self.cfg.dkim_selector or "").encode(),
                domain.encode(),
                self.dkim_key,
                include_headers=[h.encode() for h in wanted],
            )
        except dkim.DKIMException as err:
            raise ConfigError(f"mail.{self.name}: DKIM signing failed: {err}") from err
        return bytes(signature) + message.raw

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
                conn = _SmtpSsl(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._tls_context()
                )
            else:
                conn = _Smtp(cfg.host, cfg.port, timeout=cfg.timeout)
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

    def _open(self) -> smtplib.SMTP:
        conn = self.connect()
        with self.lock:
            self.connections_opened += 1
        return conn

    def _lane(self, block: bool) -> tuple[smtplib.SMTP, int, bool] | None:
        """A slot of the pool with an open connection (reused: True when it was idle);
        None when ``block`` is False and every slot is taken.  On ``ProviderError`` the
        slot has been given back."""
        try:
            taken = self.pool.acquire(block)
        except TimeoutError as err:
            raise TransientProviderError(
                self.name,
                f"none of the {self.pool.size} pooled connections came free "
                f"within {self.pool.wait:g} s",
            ) from err
        if taken is None:
            return None
        conn, count = taken
        if conn is not None:
            return conn, count, True
        try:
            return self._open(), 0, False
        except BaseException:
            self.pool.release(None, 0, keep=False)
            raise

    def _give_back(self, conn: smtplib.SMTP | None, count: int) -> None:
        self.pool.release(conn, count, keep=count < self.cfg.max_messages_per_connection)

    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        """Send over as many free connections of the pool as the batch can use (up to
        ``pool_size``, at least one: waits for it), one slice of the batch each."""
        if not messages:
            return []
        first = self._lane(block=True)  # raises: nothing of the batch was handed over
        assert first is not None
        lanes = [first]
        while len(lanes) < min(self.cfg.pool_size, len(messages)):
            try:
                lane = self._lane(block=False)
            except ProviderError:
                break
            if lane is None:  # the other slots are in use by another batch
                break
            lanes.append(lane)
        size = -(-len(messages) // len(lanes))
        slices = [messages[i * size : (i + 1) * size] for i in range(len(lanes))]
        for lane, part in zip(lanes, slices, strict=True):
            if not part:
                self._give_back(lane[0], lane[1])
        work = [(lane, part) for lane, part in zip(lanes, slices, strict=True) if part]
        if len(work) == 1:
            return self._send_lane(*work[0])
        with ThreadPoolExecutor(len(work), thread_name_prefix="smtp") as pool:
            parts = list(pool.map(lambda w: self._send_lane(*w), work))
        return [r for part in parts for r in part]

    def _send_lane(
        self, taken: tuple[smtplib.SMTP, int, bool], messages: Sequence[Message]
    ) -> list[DeliveryResult]:
        """Send ``messages`` in order over one slot of the pool, reconnecting within it."""
        current: smtplib.SMTP | None
        current, count, reused = taken
        results: list[DeliveryResult] = []
        try:
            for message in messages:
                if current is None or count >= self.cfg.max_messages_per_connection:
                    if current is not None:
                        _close(current, quit=True)
                        current = None
                    try:
                        current, count, reused = self._open(), 0, False
                    except ProviderError as err:
                        # some of the batch went out already: report, never raise
                        results.append(
                            DeliveryResult.failed(
                                message.key, f"not attempted: {err.reason}", retryable=True
                            )
                        )
                        continue
                raw = self.sign(message)
                result, alive, before_data = self._send_one(current, message, raw)
                if not alive and before_data and reused:
                    # a pooled connection the server had closed: nothing was sent, retry
                    _close(current)
                    current = None
                    try:
                        current = self._open()
                        count, reused = 0, False
                        result, alive, before_data = self._send_one(current, message, raw)
                    except ProviderError as err:
                        result = DeliveryResult.failed(
                            message.key, f"not attempted: {err.reason}", retryable=True
                        )
                        results.append(result)
                        continue
                results.append(result)
                count += 1
                reused = True
                if not alive:
                    _close(current)
                    current = None
        finally:
            self._give_back(current, count)
        return results

    def check(self) -> CheckResult:
        """Connect, secure, authenticate, QUIT: proves host, TLS and credentials."""
        conn = self.connect()
        tls = "implicit TLS" if self.cfg.security == "tls" else self.cfg.security
        _close(conn, quit=True)
        auth = f", authenticated as {self.cfg.username}" if self.cfg.username else ""
        dkim_note = f", DKIM selector {self.cfg.dkim_selector}" if self.dkim_key else ""
        return CheckResult(True, f"{self.cfg.host}:{self.cfg.port} ({tls}{auth}{dkim_note})")

    def close(self) -> None:
        for conn in self.pool.drain():
            _close(conn, quit=True)

    def _send_one(
        self, conn: smtplib.SMTP, message: Message, raw: bytes
    ) -> tuple[DeliveryResult, bool, bool]:
        """Send one message: its result, whether the connection is still usable, and
        whether a lost connection happened before DATA (so nothing was sent)."""
        key = message.key
        options: list[str] = []
        if not message.recipient.isascii() or not message.sender.isascii():
            if not conn.has_extn("smtputf8"):
                return (
                    DeliveryResult.failed(
                        key,
                        f"address {message.recipient!r}: the server does not offer SMTPUTF8, "
                        "which an address with a non-ASCII local part needs",
                        retryable=False,
                    ),
                    True,
                    False,
                )
            options.append("SMTPUTF8")
            if conn.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
        else:
            conn.command_encoding = "ascii"  # after an SMTPUTF8 message on this connection
        try:
            code, resp = conn.mail(message.sender, options)
            if code != 250:
                conn.rset()
                return _refused(key, "MAIL FROM", code, resp), code != 421, False
            code, resp = conn.rcpt(message.recipient)
            if code not in (250, 251):
                conn.rset()
                return _refused(key, "RCPT TO", code, resp), code != 421, False
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            return (
                DeliveryResult.failed(key, f"connection lost before DATA: {err}", retryable=True),
                False,
                True,
            )
        try:
            code, resp = conn.data(raw)
        except smtplib.SMTPDataError as err:
            return _refused(key, "DATA", err.smtp_code, err.smtp_error), True, False
        except smtplib.SMTPResponseException as err:
            refused = _refused(key, "DATA", err.smtp_code, err.smtp_error)
            return refused, err.smtp_code != 421, False
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            return (
                DeliveryResult.unknown(
                    key, f"connection lost during DATA; the server may have accepted it: {err}"
                ),
                False,
                False,
            )
        if code != 250:
            return _refused(key, "DATA", code, resp), True, False
        return DeliveryResult.sent(key, provider_id=_reply(code, resp)), True, False


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
