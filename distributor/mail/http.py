"""The base of every HTTP mail provider.

:class:`HttpMailBackend` is a :class:`distributor.http.HttpBase` (one
``requests.Session``, the timeout, the User-Agent, a configurable
``base_url`` for regions, proxies and tests, the retry policy, the one
``Retry-After`` parser, the lost-reply rule) with a rate limit in messages
per second.  A provider module fills in three steps:

* ``chunks(messages)``: split a batch so that each call respects the
  provider's documented limits;
* ``send_chunk(chunk)``: build the request, call :meth:`request`, and turn
  the reply into one :class:`DeliveryResult` per message;
* ``check()``: the cheapest read-only call that proves the credentials work.

Failures, decided here once for every provider:

* connection refused, a timeout while connecting, 429 and 5xx are transient:
  retried with exponential backoff and full jitter, waiting at least what
  ``Retry-After`` (or a rate-limit reset header) asks; after the last try the
  chunk's messages are ``failed`` and retryable (or the whole batch raises
  :class:`TransientProviderError` when nothing was handed over yet);
* a refusal of the call itself that no retry can mend is a configuration
  error: 401/403 raise :class:`AuthenticationError`, 404/405/410 (a wrong
  ``base_url``, a region without the endpoint) and an unusable URL raise
  :class:`ProviderConfigError`.  The backend is stopped at once and refuses
  every later call; the messages not handed over get no result, so the
  dispatcher gives their rows back (``pending``) and the run report shows one
  error; no recipient is failed for it;
* other 4xx replies fail the chunk's messages for good (never retried);
* a timeout or a dropped connection *after* the request was sent leaves the
  outcome unknown: with an idempotency key derived from the ledger keys the
  same request is retried safely, otherwise the messages are ``unknown`` and
  are not resent.
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, ClassVar, Protocol

import requests

from distributor.config import Settings
from distributor.errors import (
    AuthenticationError,
    OutcomeUnknown,
    ProviderConfigError,
    ProviderError,
    ProviderStopped,
    TransientProviderError,
)
from distributor.http import USER_AGENT as USER_AGENT
from distributor.http import HttpBase
from distributor.http import describe_reply as describe_reply
from distributor.http import retry_after_seconds as retry_after_seconds
from distributor.mail.base import CheckResult as CheckResult
from distributor.mail.base import MailBackend
from distributor.models import DeliveryResult, Message
from distributor.redact import Redactor, secret_values

__all__ = ["OutcomeUnknown", "PermanentCallError"]

#: statuses that say the endpoint is not there: the configuration is wrong
CONFIG_STATUSES = frozenset({404, 405, 410})


class PermanentCallError(ProviderError):
    """The provider refused the call itself (a 4xx that is not about configuration)."""

    def __init__(self, provider: str, message: str, status: int, body: Any) -> None:
        super().__init__(provider, message)
        self.status = status
        self.body = body


class RateLimiter:
    """Spaces calls so that at most ``per_second`` messages start per second."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self, messages: int) -> None:
        if not self.per_second:
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + messages / self.per_second

    def pause(self, seconds: float) -> None:
        """The provider asked to wait (``Retry-After``): no call starts before then."""
        self.next_at = max(self.next_at, self.clock() + seconds)


class Limiter(Protocol):
    """What the backend asks of its rate limiter (workers share one through Redis)."""

    def wait(self, messages: int) -> None: ...

    def pause(self, seconds: float) -> None: ...


class HttpMailBackend(HttpBase, MailBackend):
    """A mail provider reached over HTTP; see the module docstring."""

    default_base_url: ClassVar[str]
    #: the documented maximum number of messages (recipients) per call
    max_per_call: ClassVar[int]
    #: the config field holding the API credential (for messages)
    credential_name: ClassVar[str] = "api_key"

    def __init__(
        self,
        name: str,
        config: Any,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        MailBackend.__init__(self, name, config, settings)
        HttpBase.__init__(
            self,
            name,
            base_url=config.base_url or self.default_base_url,
            timeout=config.timeout,
            max_retries=config.max_retries,
            max_retry_wait=config.max_retry_wait,
            session=session,
            sleep=sleep,
            wall_clock=wall_clock,
            jitter=jitter,
            redactor=Redactor(secret_values(config)),
        )
        wanted = config.batch_size or self.max_per_call
        self.batch_size = max(1, min(wanted, self.max_per_call))
        self.limiter: Limiter = RateLimiter(config.rate_limit, clock, sleep)

    # ------------------------------------------------------------ the steps
    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        """Split a batch into calls of at most ``max_per_call`` messages."""
        for i in range(0, len(messages), self.max_per_call):
            yield messages[i : i + self.max_per_call]

    @abc.abstractmethod
    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        """One call to the provider; one result per message of ``chunk``."""

    @abc.abstractmethod
    def check(self) -> CheckResult:
        """The cheapest read-only call that proves the settings and credentials."""

    # ------------------------------------------------------------ the loop
    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        return self.send_calls(
            ([m.key for m in chunk], partial(self.send_chunk, chunk))
            for chunk in self.chunks(messages)
        )

    def send_calls(
        self, calls: Iterable[tuple[Sequence[str], Callable[[], list[DeliveryResult]]]]
    ) -> list[DeliveryResult]:
        """Make each call (the ledger keys it carries, the call); one result per key.

        The failure policy of the module docstring: a failure of the first call
        raises (nothing was handed over); a transient failure of a later one
        fails that call's keys (retryable); a configuration or credential
        refusal stops the backend and leaves the keys not yet handed over
        without a result (see :attr:`MailBackend.stopped`).
        """
        if self.stopped is not None:
            raise self.stopped
        results: list[DeliveryResult] = []
        gave_up = False
        for keys, call in calls:
            if gave_up:
                reason = "not attempted: the provider stopped earlier in this batch"
                results += [DeliveryResult.failed(k, reason, retryable=True) for k in keys]
                continue
            try:
                self.limiter.wait(len(keys))
                results += call()
            except ProviderStopped as err:  # credentials or configuration refused
                self.stopped = err
                if not results:
                    raise
                break  # the rest was not handed over: no result, the rows go back
            except TransientProviderError as err:
                if not results:
                    raise
                gave_up = True
                results += [
                    DeliveryResult.failed(k, f"gave up: {err.reason}", retryable=True) for k in keys
                ]
            except OutcomeUnknown as err:
                results += [DeliveryResult.unknown(k, err.reason) for k in keys]
            except PermanentCallError as err:
                results += [DeliveryResult.failed(k, err.reason, retryable=False) for k in keys]
        return results

    # ------------------------------------------------------------ one call
    def paused(self, seconds: float) -> None:
        self.limiter.pause(seconds)  # workers: every worker backs off (issue 9)

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """One API call with the retry policy; returns a 2xx response.

        ``idempotent`` says the request carries a key that makes a repeat
        harmless (or is a read): a timeout after sending is then retried;
        otherwise it raises :class:`OutcomeUnknown`.
        """
        response = self.send(
            method, path, idempotent=idempotent, retry_server_errors=True, **kwargs
        )
        status = response.status_code
        if status < 300:
            return response
        reply = self.redact(describe_reply(response))
        if status in (401, 403):
            raise AuthenticationError(
                self.name, f"the provider refused the credentials ({self.credential_name}): {reply}"
            )
        if status in CONFIG_STATUSES:
            raise ProviderConfigError(
                self.name,
                f"{method} {self.redact(self.url(path).split('?')[0])} answered {reply}: "
                "check base_url, region and the provider's settings",
                status=status,
            )
        raise PermanentCallError(self.name, reply, status, _json_or_text(response))


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def split_by(
    messages: Sequence[Message], limit: int, size: Callable[[Message], int], max_bytes: int
) -> Iterator[Sequence[Message]]:
    """Chunks of at most ``limit`` messages whose ``size`` adds up to at most ``max_bytes``."""
    chunk: list[Message] = []
    total = 0
    for message in messages:
        n = size(message)
        if chunk and (len(chunk) >= limit or total + n > max_bytes):
            yield chunk
            chunk, total = [], 0
        chunk.append(message)
        total += n
    if chunk:
        yield chunk


def from_parts(message: Message) -> tuple[str, str]:
    """(display name, address) of the message's sender, from its From header."""
    from email.utils import parseaddr

    for k, v in message.headers:
        if k.lower() == "from":
            name, addr = parseaddr(v)
            return name, addr or message.sender
    return "", message.sender


def grouped_chunks(messages: Sequence[Message], limit: int) -> Iterator[Sequence[Message]]:
    """Messages that can share one template, in calls of at most ``limit``."""
    from distributor.mail.merge import groups

    for group in groups(messages):
        for i in range(0, len(group), limit):
            yield group[i : i + limit]


#: a form field's value: one string, or a list of strings (the field repeated, in order)
FormValue = str | list[str]


def multipart_form(fields: Sequence[tuple[str, FormValue]]) -> tuple[bytes, str]:
    """``multipart/form-data`` of plain text fields: (body, Content-Type).

    A list value repeats its field once per item (Mailgun's ``to``); the body is
    byte for byte what urllib3's ``encode_multipart_formdata`` makes of the same
    fields. Written here because that is the sender thread's cost: for a call of
    1,000 recipients 0.24 us per recipient (one ``str.join`` per repeated field,
    each value encoded once), against 3.0 us for urllib3's encoder and 0.7 us for
    an encoding field by field (2 December 2026). The boundary is random and
    checked against the content (it occurs once per part and once at the end, or
    a new one is drawn), so it needs no secrecy: it comes from :mod:`random`, not
    ``os.urandom``, whose system call releases the GIL, and the sender thread of
    the batch pipeline then waits for the claiming thread to give it back.
    """
    while True:
        boundary = f"{random.getrandbits(128):032x}"
        pieces: list[bytes] = []
        parts = 0
        for name, value in fields:
            quoted = name.replace('"', "%22")
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted}"\r\n\r\n'
            if isinstance(value, str):
                pieces += (head.encode(), value.encode(), b"\r\n")
                parts += 1
            elif value:
                pieces += (head.encode(), f"\r\n{head}".join(value).encode(), b"\r\n")
                parts += len(value)
        pieces.append(f"--{boundary}--\r\n".encode())
        # each value encoded alone: one non-ASCII value (the recipient-variables) does
        # not make the whole body a wide string to encode (0.28 ms of 0.5 a call)
        body = b"".join(pieces)
        # the boundary is hex between non-hex framing: any extra occurrence is in a value
        if body.count(boundary.encode()) == parts + 1:
            return body, f"multipart/form-data; boundary={boundary}"
