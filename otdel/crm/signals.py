"""Signals crm sends inside its own transactions, for the apps built on it to act in the same commit.

Domain events (``otdel.core.events``) run after commit; these run before it, so what a receiver
writes commits or rolls back with the CRM change that caused it.
"""

from django.dispatch import Signal

# A contact was merged into another (kwargs: ``source``, ``target``); routing takes a non-target
# survivor's waiting work away from sales (``otdel.routing.nontarget``).
contact_merged = Signal()
