"""Click-to-call: ring the employee's extension first, then connect them to the client.

``call_originate(actor=..., contact=... | number=...)`` places the call through the first active
provider that can (or the one given): Asterisk by AMI ``Originate``, Zadarma and Mango Office by
their callback APIs. The call itself then reaches the timeline the usual way, through the
provider's call events, like any call the employee dialled by hand.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from otdel.accounts.models import User
from otdel.comms.models import TelephonyProvider
from otdel.comms.telephony.asterisk.ami import AMIError, ami_originate
from otdel.comms.telephony.common import TelephonyError, digits, provider_touch
from otdel.comms.telephony.mango import mango_callback
from otdel.comms.telephony.zadarma import zadarma_callback
from otdel.core.identity import normalize_phone
from otdel.crm.models import Contact

CALLING_KINDS = (
    TelephonyProvider.Kind.ASTERISK,
    TelephonyProvider.Kind.ZADARMA,
    TelephonyProvider.Kind.MANGO,
)
ORIGINATE_TIMEOUT = 10.0
RING_SECONDS = 30


@dataclass(frozen=True)
class CallRequest:
    provider: TelephonyProvider
    number: str  # E.164
    extension: str
    reference: str = ""  # the provider's id of the request, when it gives one


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from sync code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _client_number(contact: Contact | None, number: str | None) -> str:
    if number:
        try:
            return normalize_phone(number).split(";", 1)[0]
        except ValidationError as exc:
            raise ValidationError({"number": exc.messages}) from exc
    if contact is None:
        raise ValidationError({"contact": [_("Choose a contact or enter a number to call.")]})
    phone = contact.identities.filter(kind="phone").order_by("-is_primary", "id").first()
    if phone is None:
        raise ValidationError({"contact": [_("This contact has no phone number.")]})
    return phone.value.split(";", 1)[0]


def _calling_provider(provider: TelephonyProvider | None) -> TelephonyProvider:
    if provider is not None:
        if not provider.is_active or provider.kind not in CALLING_KINDS:
            raise ValidationError({"provider": [_("This telephony provider cannot place calls.")]})
        return provider
    chosen = (
        TelephonyProvider.objects.filter(is_active=True, kind__in=CALLING_KINDS)
        .order_by("name", "id")
        .first()
    )
    if chosen is None:
        raise ValidationError(
            {"provider": [_("No active telephony provider can place calls. An administrator sets one up.")]}
        )
    return chosen


def _asterisk(provider: TelephonyProvider, *, extension: str, number: str, name: str) -> str:
    if not provider.originate_context:
        raise ValidationError(
            {"provider": [_("Set the dialplan context for click-to-call in the provider settings.")]}
        )
    channel = getattr(settings, "OTDEL_ASTERISK_ORIGINATE_CHANNEL", "PJSIP/{extension}").format(
        extension=extension
    )
    shown = (name or number).replace('"', "").replace("<", "").replace(">", "")[:60]
    fields = {
        "Channel": channel,
        "Context": provider.originate_context,
        "Exten": digits(number),
        "Priority": "1",
        # The employee's phone shows whom it is about to connect them to.
        "CallerID": f'"{shown}" <{digits(number)}>',
        "Timeout": str(RING_SECONDS * 1000),
        "Async": "true",
        "Variable": [f"OTDEL_EXTENSION={extension}", f"OTDEL_NUMBER={number}"],
    }
    try:
        answer = _run(
            ami_originate(
                host=provider.ami_host or "127.0.0.1",
                port=provider.ami_port or 5038,
                username=provider.ami_username,
                secret=provider.ami_password,
                fields=fields,
                timeout=ORIGINATE_TIMEOUT,
            )
        )
    except AMIError as exc:
        raise TelephonyError(str(exc)) from exc
    return str(answer.get("ActionID", ""))


def call_originate(
    *,
    actor: User,
    contact: Contact | None = None,
    number: str | None = None,
    provider: TelephonyProvider | None = None,
) -> CallRequest:
    """Call the client from the employee's extension. Raises ValidationError for what the user can fix
    (no extension, no number, no provider) and TelephonyError when the PBX/provider fails."""
    extension = (actor.extension or "").strip()
    if not extension:
        raise ValidationError(
            {"extension": [_("You have no phone extension; ask an administrator to set it in your profile.")]}
        )
    client = _client_number(contact, number)
    chosen = _calling_provider(provider)
    try:
        if chosen.kind == TelephonyProvider.Kind.ASTERISK:
            reference = _asterisk(
                chosen, extension=extension, number=client, name=contact.full_name if contact else ""
            )
        elif chosen.kind == TelephonyProvider.Kind.ZADARMA:
            reference = str(zadarma_callback(chosen, extension=extension, number=client).get("time", ""))
        else:
            reference = str(mango_callback(chosen, extension=extension, number=client).get("command_id", ""))
    except TelephonyError as exc:
        provider_touch(chosen, error=str(exc))
        raise
    return CallRequest(provider=chosen, number=client, extension=extension, reference=reference)
