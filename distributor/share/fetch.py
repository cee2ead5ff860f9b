"""Fetching a story's image safely (no SSRF, no decompression bombs).

* http and https only, to the default or an explicit port;
* every address the host name resolves to is checked against the
  :class:`AddressPolicy` (loopback, private, link-local -- which includes the
  cloud metadata address 169.254.169.254 --, multicast, reserved and
  unspecified addresses are refused), before the first request and again for
  every redirect, which is followed by hand;
* the connection goes to the very address that was checked (the name is
  resolved once per hop, never again by the HTTP stack), so a name that
  answers a public address to the check and a private one to the connection
  (DNS rebinding) cannot reach the inside; TLS still verifies the name;
* a timeout per read and an overall deadline on the whole transfer
  (connection, headers, body, every redirect), so a server trickling bytes is
  given up on; a byte cap read in chunks; the ``Content-Type`` must be an
  allowed image type, and the decoded format must be one of the allowed ones;
* the pixel count is checked from the header before any pixel is decoded
  (Pillow's decompression-bomb limit, made strict).

A refusal raises :class:`ImageRefused`; the card maker then falls back to the
brand background and reports why.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import ipaddress
import socket
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import idna
import requests
import urllib3
from PIL import Image
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse

from distributor.errors import ShareError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# cloud metadata endpoints outside the ranges the ipaddress module flags
METADATA = (ipaddress.ip_network("fd00:ec2::254/128"), ipaddress.ip_network("100.100.100.200/32"))


class ImageRefused(ShareError):
    """A story image was not fetched or not accepted; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ImageRefused(f"cannot resolve {host!r}: {err}") from err
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses an image may come from.

    By default only public unicast addresses.  ``allow`` lists networks that
    are accepted anyway (a newsroom's own image server on a private network;
    tests serving from 127.0.0.1).
    """

    allow: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver)

    @classmethod
    def allowing(cls, *networks: str, resolver: Resolver = system_resolver) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n) for n in networks), resolver)

    def check(self, address: str) -> None:
        """Raise :class:`ImageRefused` unless ``address`` may be fetched from."""
        ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allow):
            return
        bad = (
            ip.is_loopback
            or ip.is_private
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
            or not ip.is_global
            or any(ip in net for net in METADATA)
        )
        if bad:
            raise ImageRefused(f"address {ip} is not public")


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one image fetch.

    ``timeout`` bounds each connection attempt and each read; ``deadline``
    bounds the whole transfer (every redirect, headers and body together) and
    defaults to three times ``timeout``.
    """

    max_bytes: int = 10_000_000
    timeout: float = 10.0
    max_redirects: int = 5
    max_pixels: int = 40_000_000
    types: Sequence[str] = ALLOWED_TYPES
    formats: Sequence[str] = ALLOWED_FORMATS
    deadline: float | None = None

    @property
    def total(self) -> float:
        """Seconds the whole fetch may take."""
        return self.deadline or self.timeout * 3


@dataclass(frozen=True)
class Target:
    """One hop of a fetch: the URL's parts and the addresses that were checked."""

    scheme: str
    host: str  # in its ASCII (IDNA) form
    port: int
    path: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def _ascii_host(host: str) -> str:
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            return idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as err:
            raise ImageRefused(f"host {host!r} is not a valid domain name: {err}") from err
    return host


def check_url(url: str, policy: AddressPolicy) -> Target:
    """Scheme, host and every resolved address of ``url``; the hop to connect to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ImageRefused(f"scheme {parts.scheme or '(none)'!r} is not http(s)")
    if not parts.hostname:
        raise ImageRefused("no host in image URL")
    if parts.username or parts.password:
        raise ImageRefused("credentials in image URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise ImageRefused(f"bad port in image URL: {err}") from err
    host = _ascii_host(parts.hostname)
    addresses = policy.resolver(host, port)
    if not addresses:
        raise ImageRefused(f"{parts.hostname!r} resolves to nothing")
    for address in addresses:
        policy.check(address)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, tuple(addresses))


class _Transfer:
    """The connection of the worker thread, so the caller can cut it at the deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: HTTPConnection | None = None
        self.aborted = False

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            if self.aborted:
                raise ImageRefused("given up at the deadline")
            self._conn = conn

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_NETWORK_ERRORS = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError)
_REDIRECTS = (301, 302, 303, 307, 308)


def _connect(
    target: Target, session: requests.Session, limits: FetchLimits, transfer: _Transfer
) -> HTTPConnection:
    """A connection to the first checked address that answers (never a new lookup)."""
    last: Exception | None = None
    for address in target.addresses:
        conn: HTTPConnection
        if target.scheme == "https":
            verify = session.verify
            conn = HTTPSConnection(
                address,
                target.port,
                timeout=limits.timeout,
                cert_reqs="CERT_NONE" if verify is False else "CERT_REQUIRED",
                ca_certs=verify if isinstance(verify, str) else certifi.where(),
                server_hostname=target.host,
                assert_hostname=False if verify is False else target.host,
            )
        else:
            conn = HTTPConnection(address, target.port, timeout=limits.timeout)
        transfer.attach(conn)
        try:
            conn.connect()
        except (*_NETWORK_ERRORS, ValueError) as err:  # ValueError: a certificate name mismatch
            conn.close()
            last = err
            continue
        return conn
    name = type(last).__name__ if last else "no address"
    raise ImageRefused(f"cannot fetch image: {name}") from last


def _download(
    url: str,
    session: requests.Session,
    policy: AddressPolicy,
    limits: FetchLimits,
    transfer: _Transfer,
) -> bytes:
    headers = {
        "User-Agent": str(session.headers.get("User-Agent", "distributor")),
        "Accept": ", ".join(limits.types),
    }
    current = url
    for _ in range(limits.max_redirects + 1):
        target = check_url(current, policy)
        conn = _connect(target, session, limits, transfer)
        resp: BaseHTTPResponse | None = None
        try:
            try:
                conn.request(
                    "GET",
                    target.path,
                    headers={**headers, "Host": target.host_header},
                    preload_content=False,
                )
                resp = conn.getresponse()
            except _NETWORK_ERRORS as err:
                raise ImageRefused(f"cannot fetch image: {type(err).__name__}") from err
            location = resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                current = urljoin(current, location)
                continue
            if resp.status != 200:
                raise ImageRefused(f"image server answered HTTP {resp.status}")
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype not in limits.types:
                raise ImageRefused(f"content type {ctype or '(none)'!r} is not an allowed image")
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise ImageRefused(f"image is {declared} bytes, over {limits.max_bytes}")
            data = bytearray()
            try:
                for chunk in resp.stream(65536):
                    data += chunk
                    if len(data) > limits.max_bytes:
                        raise ImageRefused(f"image is over {limits.max_bytes} bytes")
            except _NETWORK_ERRORS as err:
                raise ImageRefused(f"image download failed: {type(err).__name__}") from err
            if transfer.aborted:
                raise ImageRefused("given up at the deadline")
            return bytes(data)
        finally:
            if resp is not None:
                resp.close()
            conn.close()
    raise ImageRefused(f"more than {limits.max_redirects} redirects")


def fetch_image(
    url: str,
    session: requests.Session,
    *,
    policy: AddressPolicy | None = None,
    limits: FetchLimits | None = None,
) -> Image.Image:
    """The decoded image at ``url``, or :class:`ImageRefused` saying why not.

    ``session`` gives the User-Agent and the TLS verification setting; the
    connection itself is made here, to the checked address.
    """
    policy = policy or AddressPolicy()
    limits = limits or FetchLimits()
    transfer = _Transfer()
    outcome: list[bytes | BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append(_download(url, session, policy, limits, transfer))
        except Exception as err:  # handed to the caller's thread, raised there
            outcome.append(err)
        finally:
            done.set()

    threading.Thread(target=work, name="image-fetch", daemon=True).start()
    if not done.wait(limits.total):
        transfer.abort()
        raise ImageRefused(f"image did not arrive within {limits.total:g}s (the deadline); gave up")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return decode_image(result, limits)


def local_image_path(url: str, prefix: str, folder: Path) -> Path | None:
    """Where the image at ``url`` is in ``folder`` when ``url`` starts with ``prefix``
    (the newsroom's own images, ``[newsroom] images_dir``); None when it is not one of
    them.  The file may not exist.  A path leaving ``folder`` is refused (ImageRefused)."""
    if not url.startswith(prefix):
        return None
    rest = unquote(urlsplit(url[len(prefix) :]).path)
    parts = PurePosixPath(rest).parts
    if not parts or rest.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in rest:
        raise ImageRefused(f"image path {rest!r} is outside the newsroom's images")
    root = folder.resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root):
        raise ImageRefused(f"image path {rest!r} is outside the newsroom's images")
    return path


def read_local_image(
    url: str, prefix: str, folder: Path, limits: FetchLimits | None = None
) -> Image.Image | None:
    """The image at ``url`` read from ``folder`` when ``url`` starts with ``prefix`` (the
    newsroom's own images, ``[newsroom] images_dir``); None when it is not one of them or
    the file is not there.  A path leaving ``folder`` is refused."""
    limits = limits or FetchLimits()
    path = local_image_path(url, prefix, folder)
    if path is None:
        return None
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ImageRefused(f"cannot read {path}: {err.strerror}") from err
    if size > limits.max_bytes:
        raise ImageRefused(f"image is {size} bytes, over {limits.max_bytes}")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageRefused(f"cannot read {path}: {err.strerror}") from err
    return decode_image(data, limits)


def decode_image(data: bytes, limits: FetchLimits | None = None) -> Image.Image:
    """Decode ``data`` after checking its format and pixel count from the header."""
    limits = limits or FetchLimits()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise ImageRefused(f"over the pixel limit: {err}") from err
    except (OSError, ValueError) as err:
        raise ImageRefused(f"not a readable image: {err}") from err
    if image.format not in limits.formats:
        raise ImageRefused(f"decoded format {image.format!r} is not allowed")
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageRefused(
            f"image is {width}x{height} pixels, over the {limits.max_pixels} pixel limit"
        )
    try:
        image.load()
    except (OSError, Image.DecompressionBombError, ValueError) as err:
        raise ImageRefused(f"image cannot be decoded: {err}") from err
    return image
