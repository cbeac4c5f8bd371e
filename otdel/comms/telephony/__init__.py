"""Telephony adapters: generic webhook, Zadarma, Mango Office, Asterisk AMI; click-to-call; recordings.

The comms app imports this package when it is ready, so importing the adapters here registers their
payload parsers in every process (web, task worker), not only where the URLconf happens to be loaded.
"""

from otdel.comms.models import TelephonyProvider

# Secrets never go into the change log (until TelephonyProvider.changelog_exclude lists them in models.py).
_SECRET_FIELDS = ("api_secret", "ami_password", "last_event_at", "last_error")
if not set(_SECRET_FIELDS) <= set(TelephonyProvider.changelog_exclude):
    TelephonyProvider.changelog_exclude = (*TelephonyProvider.changelog_exclude, *_SECRET_FIELDS)

from otdel.comms.telephony import mango, zadarma  # noqa: E402, F401  (register the parsers)
