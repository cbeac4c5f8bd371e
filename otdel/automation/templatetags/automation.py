"""``{% sla_clocks_for deal_or_lead as clocks %}``: the SLA clocks shown on a card."""

from __future__ import annotations

from typing import Any

from django import template

from otdel.automation.selectors import sla_clocks
from otdel.crm.models import Deal, Lead

register = template.Library()


@register.simple_tag
def sla_clocks_for(record: Any) -> list[Any]:
    if isinstance(record, Deal):
        return sla_clocks(deal=record)
    if isinstance(record, Lead):
        return sla_clocks(lead=record)
    return []
