"""Background work: running an import, resuming imports whose worker died, large exports."""

from __future__ import annotations

from django_tasks import task

from otdel.core.scheduler import register_periodic


@task()
def import_run_task(job_id: int) -> None:
    from otdel.transfer.services import import_run

    import_run(job_id)


@task()
def import_resume_stale_task() -> int:
    from otdel.transfer.services import import_resume_stale

    return len(import_resume_stale())


@task()
def export_run_task(log_id: int) -> None:
    from otdel.transfer.export import export_run

    export_run(log_id)


@task()
def transfer_files_prune_task() -> int:
    from otdel.transfer.services import transfer_files_prune

    return transfer_files_prune()


register_periodic("transfer.import_resume_stale", 60, import_resume_stale_task)
register_periodic("transfer.files_prune", 6 * 60 * 60, transfer_files_prune_task)
