"""Background jobs of the comms app."""

from __future__ import annotations

from django_tasks import task

from otdel.comms.models import IntakeLog


@task()
def intake_process(intake_id: int) -> None:
    log = IntakeLog.objects.filter(pk=intake_id).first()
    if log is None or log.status == IntakeLog.Status.PROCESSED:
        return
    from otdel.comms.intake import intake_process_now

    intake_process_now(log)
