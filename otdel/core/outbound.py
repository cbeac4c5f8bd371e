"""Outbound HTTP to addresses people typed in (webhooks): never to this machine or the local network.

Every host is resolved and each of its addresses checked before connecting; redirects are followed
by hand (a few at most), each new location checked the same way. Loopback, private, link-local,
multicast, reserved and unspecified addresses are refused, unless the host is listed in
``OTDEL_OUTBOUND_ALLOWED_HOSTS`` (comma-separated) by an administrator.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10


class OutboundRefused(Exception):
    """The URL points somewhere Otdel does not send requests to."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: str


def _allowed_hosts() -> set[str]:
    return {
        h.strip().lower() for h in os.environ.get("OTDEL_OUTBOUND_ALLOWED_HOSTS", "").split(",") if h.strip()
    }


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str) -> tuple[str, str]:
    """``(host, address)`` to connect to for ``url``: http(s), a public address after DNS (the one
    connected to, so a second lookup cannot point elsewhere). Raises OutboundRefused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("only http and https URLs with a host are allowed")
    host = parts.hostname.lower()
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise OutboundRefused(f"the host {host} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise OutboundRefused(f"the host {host} does not resolve")
    if host not in _allowed_hosts() and not all(_is_public(a) for a in addresses):
        raise OutboundRefused(f"the host {host} is a local or private address")
    return host, addresses[0]


def check_url(url: str) -> str:
    """``url`` if Otdel may send to it; raises OutboundRefused if not."""
    resolve(url)
    return url


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int | None, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int | None, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, *, data: bytes, headers: dict[str, str]) -> OutboundResponse:
    """POST ``data`` to ``url``, checking the address first and on every redirect (never followed
    to a refused one); the connection goes to the address that was checked."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        host, address = resolve(current)
        parts = urlsplit(current)
        kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = kind(host, address, parts.port, TIMEOUT_SECONDS)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=data, headers=headers)
            response = connection.getresponse()
            body = response.read(2000).decode("utf-8", "replace")
            location = response.getheader("Location", "")
        finally:
            connection.close()
        if response.status in (301, 302, 303, 307, 308) and location:
            current = urljoin(current, location)
            continue
        return OutboundResponse(response.status, body)
    raise OutboundRefused("too many redirects")
