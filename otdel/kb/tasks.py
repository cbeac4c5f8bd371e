"""Background jobs of the knowledge base: the daily reminder of articles due for review."""

from __future__ import annotations

from django_tasks import task

from otdel.core.scheduler import register_periodic


@task()
def kb_review_reminders() -> int:
    from otdel.kb.services import articles_review_remind

    return articles_review_remind()


register_periodic("kb.review_reminders", 6 * 60 * 60, kb_review_reminders)
