"""``{% live_stream_url %}``: where this page's tab opens its server-sent event stream."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def live_stream_url(context: template.Context) -> str:
    if settings.OTDEL_LIVE_URL:
        return str(settings.OTDEL_LIVE_URL)
    path = reverse("live_stream")
    request = context.get("request")
    if not settings.OTDEL_LIVE_PORT or request is None:
        return path
    host = urlsplit(f"//{request.get_host()}").hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{request.scheme}://{host}:{settings.OTDEL_LIVE_PORT}{path}"
