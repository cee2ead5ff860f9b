"""The base of every HTTP mail provider.

:class:`HttpMailBackend` owns one :class:`requests.Session` (connections are
reused across calls), the timeout, the User-Agent, a configurable
``base_url`` (regions, proxies, tests), a rate limit in messages per second,
and the retry policy.  A provider module fills in three steps:

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
* 401/403 raise :class:`AuthenticationError` and the backend refuses every
  later call: the provider is stopped at once;
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, ClassVar, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from distributor import __version__
from distributor.config import Settings
from distributor.errors import AuthenticationError, ProviderError, TransientProviderError
from distributor.mail.base import CheckResult as CheckResult
from distributor.mail.base import MailBackend
from distributor.models import DeliveryResult, Message

USER_AGENT = f"distributor/{__version__} (+https://github.com/distributor)"
RESET_HEADERS = ("ratelimit-reset", "x-ratelimit-reset", "x-sib-ratelimit-reset")


class _Retry(Exception):
    """A transient failure of one call, worth another try."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class OutcomeUnknown(ProviderError):
    """The request was sent but no reply came: it may or may not have been accepted."""


class PermanentCallError(ProviderError):
    """The provider refused the call itself (a 4xx other than 401/403/429)."""

    def __init__(self, provider: str, message: str, status: int, body: Any) -> None:
        super().__init__(provider, message)
        self.status = status
        self.body = body


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` or a rate-limit reset header, if any.

    ``Retry-After`` is seconds or an HTTP date; reset headers are seconds, or
    an epoch time when the value is larger than a billion.
    """
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    for name in RESET_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        return max(0.0, seconds - now) if seconds > 1e9 else max(0.0, seconds)
    return None


def describe_reply(response: requests.Response, limit: int = 300) -> str:
    """``HTTP 400: <the provider's own message>``, shortened."""
    text = " ".join(response.text.split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


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


class HttpMailBackend(MailBackend):
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
        super().__init__(name, config, settings)
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        self.timeout: float = config.timeout
        self.max_retries: int = config.max_retries
        self.max_retry_wait: float = config.max_retry_wait
        wanted = config.batch_size or self.max_per_call
        self.batch_size = max(1, min(wanted, self.max_per_call))
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.jitter = jitter
        self.limiter: Limiter = RateLimiter(config.rate_limit, clock, sleep)
        self.stopped: AuthenticationError | None = None
        self.calls = 0

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
        raises (nothing was handed over), a later one fails that call's keys.
        """
        if self.stopped is not None:
            raise self.stopped
        results: list[DeliveryResult] = []
        for keys, call in calls:
            if self.stopped is not None or (results and _gave_up(results)):
                reason = "not attempted: the provider stopped earlier in this batch"
                results += [DeliveryResult.failed(k, reason, retryable=True) for k in keys]
                continue
            try:
                self.limiter.wait(len(keys))
                results += call()
            except AuthenticationError as err:
                self.stopped = err
                if not results:
                    raise
                results += [DeliveryResult.failed(k, err.reason, retryable=True) for k in keys]
            except TransientProviderError as err:
                if not results:
                    raise
                results += [
                    DeliveryResult.failed(k, f"gave up: {err.reason}", retryable=True) for k in keys
                ]
            except OutcomeUnknown as err:
                results += [DeliveryResult.unknown(k, err.reason) for k in keys]
            except PermanentCallError as err:
                results += [DeliveryResult.failed(k, err.reason, retryable=False) for k in keys]
        return results

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    # ------------------------------------------------------------ one call
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
        url = path if path.startswith("http") else f"{self.base_url}{path}"

        def attempt() -> requests.Response:
            self.calls += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as err:
                if isinstance(err, requests.ConnectTimeout) or _is_refused(err):
                    # nothing was sent: always safe to try again
                    raise _Retry(f"cannot connect to {url}: {_short(err)}") from err
                if idempotent:
                    raise _Retry(f"no reply from {url}: {_short(err)}") from err
                raise OutcomeUnknown(
                    self.name,
                    f"no reply from {url} after the request was sent ({_short(err)}); "
                    "the provider may have accepted it, so it is not resent",
                ) from err
            status = response.status_code
            if status < 300:
                return response
            if status in (401, 403):
                raise AuthenticationError(
                    self.name,
                    f"the provider refused the credentials ({self.credential_name}): "
                    f"{describe_reply(response)}",
                )
            if status == 429 or status >= 500 or status == 408:
                raise _Retry(
                    describe_reply(response),
                    retry_after_seconds(response.headers, self.wall_clock()),
                )
            raise PermanentCallError(
                self.name, describe_reply(response), status, _json_or_text(response)
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            retry=retry_if_exception_type(_Retry),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as err:
            raise TransientProviderError(
                self.name,
                f"{err.reason} (after {self.max_retries + 1} tries)",
                retry_after=err.retry_after,
            ) from err

    def _wait(self, state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        backoff = min(self.max_retry_wait, 0.5 * 2 ** (state.attempt_number - 1))
        wait = backoff * self.jitter()
        if isinstance(err, _Retry) and err.retry_after is not None:
            if err.retry_after > self.max_retry_wait:
                # longer than we are willing to block a run: give up for now
                raise _Retry(
                    f"{err.reason}; the provider asks to wait {err.retry_after:.0f} s",
                    err.retry_after,
                )
            wait = max(wait, err.retry_after)
            self.limiter.pause(err.retry_after)  # workers: every worker backs off (issue 9)
        return float(wait)


def _is_refused(err: BaseException) -> bool:
    """The connection itself failed (refused, unreachable, DNS): no byte was sent."""
    text = str(err)
    return "NewConnectionError" in text or "NameResolutionError" in text


def _short(err: BaseException) -> str:
    text = str(err)
    return text if len(text) < 200 else text[:200] + "..."


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _gave_up(results: Sequence[DeliveryResult]) -> bool:
    last = results[-1]
    return bool(last.error and last.error.startswith("gave up:"))


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


def multipart_form(fields: Sequence[tuple[str, str]]) -> tuple[bytes, str]:
    """``multipart/form-data`` of plain text fields: (body, Content-Type).

    Written directly (a thousand ``to`` fields cost microseconds, not the
    milliseconds of a generic encoder); the boundary is random and checked
    against the content.
    """
    import secrets

    encoded = [(name.encode("utf-8"), value.encode("utf-8")) for name, value in fields]
    while True:
        boundary = secrets.token_hex(16).encode("ascii")
        if not any(boundary in v for _n, v in encoded):
            break
    head = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="'
    body = b"".join(head + n.replace(b'"', b"%22") + b'"\r\n\r\n' + v + b"\r\n" for n, v in encoded)
    body += b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode('ascii')}"
