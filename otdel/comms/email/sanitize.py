"""HTML of received mail made safe to show on the card: no scripts, no tracking pixels, safe links."""

from __future__ import annotations

import nh3

# Tags a mail body needs to keep its layout; everything else is unwrapped (text kept).
TAGS = set(nh3.ALLOWED_TAGS) | {"font", "center"}
ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {
        "style",
        "title",
        "dir",
        "lang",
        "align",
        "valign",
        "width",
        "height",
        "bgcolor",
        "colspan",
        "rowspan",
    },
    "font": {"color", "face", "size"},
    "img": {"src", "alt", "width", "height", "align"},
    "a": {"href", "hreflang", "title"},
}
# Inline styles keep colours and typography; nothing that can load a URL or cover the page.
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-align",
    "text-decoration",
    "line-height",
    "vertical-align",
    "white-space",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-collapse",
    "border-color",
    "border-style",
    "border-width",
    "width",
    "height",
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Remote images are not loaded automatically (they tell the sender the mail was opened)."""
    if tag == "img" and attribute == "src":
        lowered = value.strip().lower()
        if lowered.startswith("cid:") or lowered.startswith("data:image/"):
            return value
        return None
    if attribute in ("href", "src") and value.strip().lower().startswith("data:"):
        return None  # data: URLs only as inline images
    return value


def sanitize_html(html: str) -> str:
    """Safe HTML of a mail body for display; links open apart from Otdel's page (rel=noopener)."""
    if not html or not html.strip():
        return ""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style", "title", "head", "iframe", "object", "embed", "noscript"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer nofollow",
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
