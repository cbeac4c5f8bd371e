"""Telephony adapters: generic webhook, Zadarma, Mango Office, Asterisk AMI; click-to-call; recordings.

The comms app imports this package when it is ready, so importing the adapters here registers their
payload parsers in every process (web, task worker), not only where the URLconf happens to be loaded.
"""

from otdel.comms.telephony import mango, zadarma  # noqa: F401  (register the parsers)
