"""Fetching a story's image safely (no SSRF, no decompression bombs).

* http and https only, to the default or an explicit port;
* every address the host name resolves to is checked against the
  :class:`AddressPolicy` (loopback, private, link-local -- which includes the
  cloud metadata address 169.254.169.254 --, multicast, reserved and
  unspecified addresses are refused), before the first request and again for
  every redirect, which is followed by hand;
* a timeout, a byte cap read in chunks, the ``Content-Type`` must be an
  allowed image type, and the decoded format must be one of the allowed ones;
* the pixel count is checked from the header before any pixel is decoded
  (Pillow's decompression-bomb limit, made strict).

A refusal raises :class:`ImageRefused`; the card maker then falls back to the
brand background and reports why.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import requests
from PIL import Image

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
    max_bytes: int = 10_000_000
    timeout: float = 10.0
    max_redirects: int = 5
    max_pixels: int = 40_000_000
    types: Sequence[str] = ALLOWED_TYPES
    formats: Sequence[str] = ALLOWED_FORMATS


def check_url(url: str, policy: AddressPolicy) -> None:
    """Scheme, host and every resolved address of ``url``."""
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
    addresses = policy.resolver(parts.hostname, port)
    if not addresses:
        raise ImageRefused(f"{parts.hostname!r} resolves to nothing")
    for address in addresses:
        policy.check(address)


def fetch_image(
    url: str,
    session: requests.Session,
    *,
    policy: AddressPolicy | None = None,
    limits: FetchLimits | None = None,
) -> Image.Image:
    """The decoded image at ``url``, or :class:`ImageRefused` saying why not."""
    policy = policy or AddressPolicy()
    limits = limits or FetchLimits()
    current = url
    for _ in range(limits.max_redirects + 1):
        check_url(current, policy)
        try:
            resp = session.get(current, stream=True, timeout=limits.timeout, allow_redirects=False)
        except requests.RequestException as err:
            raise ImageRefused(f"cannot fetch image: {type(err).__name__}") from err
        with resp:
            if resp.is_redirect and resp.headers.get("Location"):
                current = urljoin(current, resp.headers["Location"])
                continue
            if resp.status_code != 200:
                raise ImageRefused(f"image server answered HTTP {resp.status_code}")
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype not in limits.types:
                raise ImageRefused(f"content type {ctype or '(none)'!r} is not an allowed image")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise ImageRefused(f"image is {declared} bytes, over {limits.max_bytes}")
            data = bytearray()
            try:
                for chunk in resp.iter_content(65536):
                    data += chunk
                    if len(data) > limits.max_bytes:
                        raise ImageRefused(f"image is over {limits.max_bytes} bytes")
            except requests.RequestException as err:
                raise ImageRefused(f"image download failed: {type(err).__name__}") from err
        return decode_image(bytes(data), limits)
    raise ImageRefused(f"more than {limits.max_redirects} redirects")


def read_local_image(
    url: str, prefix: str, folder: Path, limits: FetchLimits | None = None
) -> Image.Image | None:
    """The image at ``url`` read from ``folder`` when ``url`` starts with ``prefix`` (the
    newsroom's own images, ``[newsroom] images_dir``); None when it is not one of them or
    the file is not there.  A path leaving ``folder`` is refused."""
    limits = limits or FetchLimits()
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
