from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "otdel.comms"
    label = "comms"
    verbose_name = _("Communications")

    def ready(self) -> None:
        # Importing the adapters registers their parsers and event handlers.
        # Periodic jobs run by `manage.py scheduler` (started by `serve`).
        from otdel.comms import handlers  # noqa: F401
        from otdel.comms.email.tasks import mail_sync_all
        from otdel.comms.intake import on_accepted
        from otdel.comms.telegram import parse, services  # noqa: F401
        from otdel.comms.telephony import generic  # noqa: F401
        from otdel.comms.telephony.recordings import recordings_sweep
        from otdel.comms.telephony.ringing import call_signal_after_commit
        from otdel.core.conf import int_setting
        from otdel.core.scheduler import register_periodic

        on_accepted(call_signal_after_commit)  # the ringing call on screen (docs/live.md)
        register_periodic("mail.sync_all", int(int_setting("OTDEL_MAIL_POLL_SECONDS", 60)), mail_sync_all)
        register_periodic("telephony.recordings_sweep", 15 * 60, recordings_sweep)
