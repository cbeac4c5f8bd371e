"""Personal data in the live app (read by ``otdel.privacy.register``): a pushed message names the
caller's phone number; rows live minutes (``live.tasks.KEEP_MINUTES``)."""

from otdel.privacy.register import CONTACT_DETAILS, SALES

PD_REGISTER = {
    "live.LiveEvent": {
        "pd": {"data": (CONTACT_DETAILS, SALES)},
        "not_pd": ["user", "kind", "topic", "created_at"],
    },
}
