"""Outbound HTTP to addresses that came from outside (recording links, webhooks): no SSRF.

``fetch`` resolves the host, refuses loopback, private, link-local, multicast, reserved and cloud
metadata addresses (``169.254.169.254`` and friends are link-local), connects to the very address it
checked (no second DNS lookup an attacker's resolver could answer differently), and follows
redirects itself, checking every hop the same way. The body is read with a size cap into a spooled
temporary file; every socket operation has a timeout.

Hosts an administrator trusts on the local network (a PBX serving its recordings from
``192.168.1.10``) go in ``OTDEL_OUTBOUND_ALLOWED_HOSTS``; a caller may allow more for one call
(``allow_hosts``: e.g. the provider's own API host).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class OutboundError(Exception):
    """The request was not made (refused address, bad URL) or did not complete (network, size)."""


class OutboundRefused(OutboundError):
    """The URL points where Otdel does not send requests (a non-public address, another scheme)."""


@dataclass
class OutboundResponse:
    status: int
    headers: http.client.HTTPMessage
    body: IO[bytes]  # positioned at 0; the caller closes it
    url: str  # after redirects

    @property
    def content_type(self) -> str:
        return (self.headers.get_content_type() or "").lower()


def _allowed_hosts(extra: Iterable[str]) -> set[str]:
    configured = getattr(settings, "OTDEL_OUTBOUND_ALLOWED_HOSTS", ())
    return {h.strip().lower() for h in [*configured, *extra] if h and h.strip()}


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int, *, allowed: bool = False) -> str:
    """The address to connect to for ``host``; OutboundRefused if any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"{host}: cannot resolve ({exc})") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise OutboundError(f"{host}: no address")
    if not allowed:
        refused = [a for a in addresses if not address_is_public(a.split("%", 1)[0])]
        if refused:
            # One bad answer refuses the host: DNS that mixes public and private answers is a trick.
            raise OutboundRefused(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI checked against the host name, though connected by address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_hosts: Iterable[str] = (),
    max_redirects: int = MAX_REDIRECTS,
) -> OutboundResponse:
    """Make the request, following redirects, and read the body (at most ``max_bytes``).

    Any status is returned (the caller decides what a 404 means); OutboundRefused for an address
    Otdel does not talk to, OutboundError for everything else that went wrong.
    """
    allowed = _allowed_hosts(allow_hosts)
    current = url
    for _hop in range(max_redirects + 1):
        parts = urllib.parse.urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            if current != url:
                raise OutboundRefused(f"redirect to a non-HTTP address refused: {current[:200]}")
            raise OutboundRefused(f"only http and https URLs are fetched, not {current[:200]}")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise OutboundRefused(f"bad port in {current[:200]}") from exc
        address = resolve_public(host, port, allowed=host.lower() in allowed)
        connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        connection = connection_class(host, port, address=address, timeout=timeout)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request(method, target, body=data, headers=dict(headers or {}))
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status in REDIRECTS and location:
                response.close()
                current = urllib.parse.urljoin(current, location)
                if response.status in (301, 302, 303) and method != "HEAD":
                    method, data = "GET", None
                continue
            return OutboundResponse(response.status, response.headers, _read(response, max_bytes), current)
        except OSError as exc:  # timeouts, refused connections, TLS failures
            raise OutboundError(f"{host} unreachable: {exc}") from exc
        except http.client.HTTPException as exc:
            raise OutboundError(f"{host}: bad HTTP answer ({exc!r})") from exc
        finally:
            connection.close()
    raise OutboundError(f"more than {max_redirects} redirects from {url[:200]}")


def _read(response: http.client.HTTPResponse, max_bytes: int) -> IO[bytes]:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise OutboundError(f"answer is {length} bytes, over the {max_bytes} bytes limit")
    spool: Any = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 (returned)
    size = 0
    try:
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise OutboundError(f"answer is over the {max_bytes} bytes limit")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def check_url(url: str, *, allow_hosts: Iterable[str] = ()) -> str:
    """``url`` when Otdel may send requests there (http or https, a public address after DNS);
    OutboundRefused otherwise. For checking a URL when it is configured (a rule's webhook)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"only http and https URLs are allowed, not {url[:200]}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefused(f"bad port in {url[:200]}") from exc
    try:
        resolve_public(parts.hostname, port, allowed=parts.hostname.lower() in _allowed_hosts(allow_hosts))
    except OutboundRefused:
        raise
    except OutboundError as exc:
        raise OutboundRefused(str(exc)) from exc
    return url


WEBHOOK_TIMEOUT = 10.0
WEBHOOK_MAX_BYTES = 64 * 1024


def post(url: str, *, data: bytes, headers: Mapping[str, str]) -> OutboundResponse:
    """POST ``data`` (a webhook delivery) through ``fetch``: the same address checks on every hop,
    a short timeout, and only the start of the answer kept (its status is what counts)."""
    response = fetch(
        url,
        method="POST",
        data=data,
        headers=headers,
        timeout=WEBHOOK_TIMEOUT,
        max_bytes=WEBHOOK_MAX_BYTES,
    )
    response.body.close()
    return response
