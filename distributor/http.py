"""One HTTP base for the mail providers and the social networks.

:class:`HttpBase` owns what every provider that talks HTTP shares: one
``requests.Session`` (connections reused across calls), the User-Agent, a
configurable ``base_url`` (regions, proxies, tests), the timeout, the retry
policy (tenacity), the one ``Retry-After`` parser of the project
(:func:`retry_after_seconds`) and the rule for a request whose reply was lost:

* nothing was sent (connection refused, a timeout while connecting, a name
  that does not resolve): always safe to try again;
* the request was sent and no reply came (a read timeout, a dropped
  connection): retried only when the call is **idempotent** (a read, or a
  request carrying an idempotency key or a deterministic record key);
  otherwise :class:`~distributor.errors.OutcomeUnknown` is raised at once and
  the message or post is recorded ``unknown``, never sent again blindly
  (what anymail's ``base_requests`` does with its "unknown" status);
* 429, 408 and 5xx replies are transient: retried with exponential backoff
  and full jitter, waiting at least what ``Retry-After`` or a rate-limit reset
  header asks; a wait longer than ``max_retry_wait`` ends the call with a
  :class:`~distributor.errors.TransientProviderError` carrying ``retry_after``
  (the ledger retries on a later run).  A call that is not idempotent gets no
  second try after a 5xx within the call (``retry_server_errors``);
* every other reply is handed back to the caller, who knows what the
  provider's 4xx replies mean (:class:`distributor.mail.http.HttpMailBackend`,
  :class:`distributor.social.base.HttpChannel`).

Every message this module makes is passed through the provider's
:class:`~distributor.redact.Redactor`, so a webhook URL or a bot token in a
URL never reaches a report, a log or the database.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from distributor import __version__
from distributor.errors import OutcomeUnknown, ProviderConfigError, TransientProviderError
from distributor.redact import Redactor

USER_AGENT = f"distributor/{__version__} (+https://github.com/distributor)"

#: (remaining, reset) header pairs: the reset counts when the quota is used up or on a 429
RESET_HEADERS = (
    ("ratelimit-remaining", "ratelimit-reset"),  # IETF draft, Bluesky (epoch)
    ("x-ratelimit-remaining", "x-ratelimit-reset"),  # Mastodon (ISO time), mail APIs (seconds)
    ("x-rate-limit-remaining", "x-rate-limit-reset"),  # X (epoch)
    ("x-sib-ratelimit-remaining", "x-sib-ratelimit-reset"),  # Brevo (seconds)
)
_EPOCH = 1_000_000_000  # a reset value larger than this is an epoch time, not seconds


def seconds_until(value: str, now: float) -> float | None:
    """A wait given as seconds, an epoch time, an HTTP date or an ISO 8601 time; None
    when the value is none of these."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number != number or number in (float("inf"), float("-inf")):
            return None
        return max(0.0, number - now) if number > _EPOCH else max(0.0, number)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return max(0.0, parsed.timestamp() - now)


def retry_after_seconds(headers: Mapping[str, str], now: float, status: int = 429) -> float | None:
    """How long the server asks us to wait, from its headers; None if it does not say.

    ``Retry-After`` (seconds or an HTTP date) first, then Discord's
    ``X-RateLimit-Reset-After`` (seconds), then a rate-limit reset header,
    which counts on a 429 or when its ``remaining`` partner says 0.
    ``headers`` must look names up without regard to case (as ``requests`` does).
    """
    for name in ("retry-after", "x-ratelimit-reset-after"):
        value = headers.get(name)
        if value:
            wait = seconds_until(value, now)
            if wait is not None:
                return wait
    for remaining, reset in RESET_HEADERS:
        value = headers.get(reset)
        if not value:
            continue
        if status == 429 or (headers.get(remaining) or "1").strip() == "0":
            wait = seconds_until(value, now)
            if wait is not None:
                return wait
    return None


def describe_reply(response: requests.Response, limit: int = 300) -> str:
    """``HTTP 400: <the provider's own message>``, shortened to one line."""
    text = " ".join(response.text.split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


class _Retry(Exception):
    """A transient failure of one attempt, worth another try within the call."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class HttpBase:
    """Session, base URL, timeout, retries and the lost-reply rule; see the module docstring.

    Subclasses may override :meth:`before_attempt` (pacing), :meth:`paused` (the
    server asked to wait), :meth:`is_rate_limited` and :meth:`body_retry_after`
    (networks that signal rate limits in the body).
    """

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        timeout: float,
        max_retries: int,
        max_retry_wait: float,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        redactor: Redactor | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.jitter = jitter
        self.redact = redactor or Redactor()
        self.calls = 0

    # ------------------------------------------------------------ hooks
    def before_attempt(self) -> None:
        """Called before every attempt (pacing); nothing by default."""

    def paused(self, seconds: float) -> None:
        """The server asked to wait ``seconds`` before the next call; nothing by default."""

    def after_reply(self, response: requests.Response, wait: float | None) -> None:
        """Every reply that is not retried, with the wait its headers ask for, if any."""

    def is_rate_limited(self, response: requests.Response) -> bool:
        """A rate limit signalled without a 429 (Facebook's error codes)."""
        return False

    def body_retry_after(self, response: requests.Response) -> float | None:
        """A wait given in the body (Telegram's ``parameters.retry_after``)."""
        return None

    # ------------------------------------------------------------ the call
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        retry_server_errors: bool | None = None,
        keep: Callable[[requests.Response], bool] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One call with the retry policy; returns any reply that is not transient.

        ``idempotent``: a repeat is harmless, so a lost reply is retried;
        otherwise it raises :class:`OutcomeUnknown`.  ``retry_server_errors``
        (default: ``idempotent``) retries 5xx within the call.  ``keep``: replies
        the caller reads itself, before the retry policy looks at them.
        """
        url = self.url(path)
        where = self.redact(f"{method} {_shown(url)}")
        retry_5xx = idempotent if retry_server_errors is None else retry_server_errors
        kwargs.setdefault("timeout", self.timeout)

        def attempt() -> requests.Response:
            self.before_attempt()
            self.calls += 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL,
            ) as err:
                raise ProviderConfigError(
                    self.name, self.redact(f"{where}: not a usable URL: {_short(err)}")
                ) from err
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as err:
                if isinstance(err, requests.ConnectTimeout) or _nothing_sent(err):
                    raise _Retry(self.redact(f"cannot connect: {where}: {_short(err)}")) from err
                if idempotent:
                    raise _Retry(self.redact(f"no reply: {where}: {_short(err)}")) from err
                raise OutcomeUnknown(
                    self.name,
                    self.redact(
                        f"no reply to {where} after the request was sent ({_kind(err)}); "
                        "it may have been accepted, so it is not resent"
                    ),
                ) from err
            status = response.status_code
            wait = retry_after_seconds(response.headers, self.wall_clock(), status)
            if keep is not None and keep(response):
                return response
            if status == 429 or self.is_rate_limited(response):
                if wait is None:
                    wait = self.body_retry_after(response)
                raise _Retry(
                    self.redact(f"{where}: rate limited ({describe_reply(response)})"), wait
                )
            if status == 408 or status >= 500:
                reason = self.redact(f"{where}: {describe_reply(response)}")
                if retry_5xx:
                    raise _Retry(reason, wait)
                raise TransientProviderError(self.name, reason, retry_after=wait)
            self.after_reply(response, wait)
            return response

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
            tries = getattr(err, "tries", None) or f"after {self.max_retries + 1} tries"
            raise TransientProviderError(
                self.name, f"{err.reason} ({tries})", retry_after=err.retry_after
            ) from err

    def _wait(self, state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        backoff = min(self.max_retry_wait, 0.5 * 2 ** (state.attempt_number - 1))
        wait = backoff * self.jitter()
        if isinstance(err, _Retry) and err.retry_after is not None:
            if err.retry_after > self.max_retry_wait:
                # longer than we are willing to block a run: give up for now
                stop = _Retry(
                    f"{err.reason}; the server asks to wait {err.retry_after:.0f} s",
                    err.retry_after,
                )
                stop.tries = f"after {state.attempt_number} tries"  # type: ignore[attr-defined]
                raise stop
            wait = max(wait, err.retry_after)
            self.paused(err.retry_after)
        return float(wait)

    def close(self) -> None:
        if self._own_session:
            self.session.close()


def _nothing_sent(err: BaseException) -> bool:
    """The connection itself failed (refused, unreachable, DNS): no byte was sent.

    urllib3 wraps these in ``NewConnectionError`` (``NameResolutionError`` is one);
    requests keeps the chain in the exception's arguments.
    """
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    stack: list[Any] = [err]
    while stack:
        e = stack.pop()
        if id(e) in seen or e is None:
            continue
        seen.add(id(e))
        if isinstance(e, NewConnectionError | ConnectionRefusedError):
            return True
        if isinstance(e, BaseException):
            stack += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return False


def _kind(err: BaseException) -> str:
    return "timed out" if isinstance(err, requests.Timeout) else "connection lost"


def _shown(url: str) -> str:
    """The URL without its query (which may carry tokens)."""
    return url.split("?", 1)[0]


def _short(err: BaseException) -> str:
    text = str(err)
    return text if len(text) < 200 else text[:200] + "..."
