"""Prefilled texts of the breach notices to Roskomnadzor (152-FZ art. 21 p. 3.1), in Russian."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from otdel.privacy.models import PrivacySettings


def breach_notices(incident: Any) -> dict[str, str]:
    conf = PrivacySettings.load()
    context = {"incident": incident, "conf": conf, "officer": conf.officer}
    with translation.override("ru"):
        return {
            "notice_24h": render_to_string("privacy/breach_notice_24h.txt", context).strip(),
            "notice_72h": render_to_string("privacy/breach_notice_72h.txt", context).strip(),
        }
