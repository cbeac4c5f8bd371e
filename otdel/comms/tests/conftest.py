"""Fixtures every comms test may use: the real protocol peers each channel is tested against (an IMAP
and SMTP server, a fake Telegram Bot API, a fake AMI and HTTP provider) and the channel settings."""

from otdel.comms.tests.email.support.fixtures import *  # noqa: F403
from otdel.comms.tests.telegram.support.fixtures import *  # noqa: F403
from otdel.comms.tests.telephony.support.fixtures import *  # noqa: F403
