"""Who sent a request: the one place that reads a client's address.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy; the client is in ``X-Forwarded-For``. That
header is believed only as far as the proxies listed in ``OTDEL_TRUSTED_PROXIES`` (addresses or
networks) vouch for it: walking the list from the right (the entry our own proxy added), trusted
hops are skipped and the first untrusted address is the client. A client talking to Otdel
directly cannot forge an address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:5678"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in spec:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    configured = getattr(settings, "OTDEL_TRUSTED_PROXIES", ())
    if isinstance(configured, str):
        configured = configured.split(",")
    return _networks(tuple(str(item) for item in configured if str(item).strip()))


def is_trusted_proxy(address: str | None) -> bool:
    if not address:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in trusted_proxies())


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (normalized), honouring X-Forwarded-For only from trusted proxies."""
    remote = _ip(request.META.get("REMOTE_ADDR", "") or "")
    if not is_trusted_proxy(remote):
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    client = remote
    for part in reversed(forwarded):
        hop = _ip(part)
        if hop is None:
            break  # garbage: stop believing the header here
        client = hop
        if not is_trusted_proxy(hop):
            break
    return client
