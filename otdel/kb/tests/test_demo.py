"""The demo regulations and FAQ: tied to the demo pipelines, published, idempotent."""

from __future__ import annotations

import pytest

from otdel.kb.demo import seed_demo
from otdel.kb.models import Article, ArticleVersion, ChecklistItem

pytestmark = pytest.mark.django_db


def test_demo_set_is_complete_and_a_second_run_changes_nothing(kb_demo, stage_of):
    regulations = Article.objects.filter(kind="regulation", status="published")
    assert regulations.count() >= 7
    assert Article.objects.filter(kind="faq", status="published", language="ru").count() >= 20
    assert Article.objects.filter(for_triage=True).exists()
    for stage in ("Новая заявка", "Квалификация", "Коммерческое предложение", "Переговоры", "Счёт выставлен"):
        assert ChecklistItem.objects.filter(article__stages=stage_of(stage), required=True).exists(), stage
    counts = (Article.objects.count(), ArticleVersion.objects.count(), ChecklistItem.objects.count())
    seed_demo()
    assert (Article.objects.count(), ArticleVersion.objects.count(), ChecklistItem.objects.count()) == counts
