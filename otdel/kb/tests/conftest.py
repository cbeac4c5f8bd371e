"""Fixtures of the knowledge-base tests: the demo pipelines and the demo regulations and FAQ."""

from __future__ import annotations

import pytest

from otdel.accounts.models import Role
from otdel.accounts.tests.factories import UserFactory
from otdel.crm.models import Pipeline, Stage
from otdel.demo.sales import SALES_STAGES, TENDER_STAGES
from otdel.kb import services
from otdel.kb.demo import seed_demo


@pytest.fixture
def demo_pipelines(db):
    pipelines = {}
    for order, (name, specs) in enumerate((("Продажи", SALES_STAGES), ("Тендеры", TENDER_STAGES))):
        pipeline = Pipeline.objects.create(name=name, order=order, is_default=order == 0)
        for position, (stage_name, kind, probability, color, _weight) in enumerate(specs):
            Stage.objects.create(
                pipeline=pipeline,
                name=stage_name,
                kind=kind,
                order=position,
                probability=probability,
                color=color,
            )
        pipelines[name] = pipeline
    return pipelines


@pytest.fixture
def kb_owner(department):
    return UserFactory(
        username="orlova", full_name="Орлова Марина", role=Role.HEAD_OF_SALES, department=department
    )


@pytest.fixture
def kb_demo(demo_pipelines, kb_owner):
    seed_demo()
    return demo_pipelines


@pytest.fixture
def stage_of(demo_pipelines):
    def find(name: str, pipeline: str = "Продажи") -> Stage:
        return Stage.objects.get(pipeline__name=pipeline, name=name)

    return find


@pytest.fixture
def regulation(head, pipeline):
    """A published regulation on the first stage of ``pipeline`` with one required and one advisory item."""
    first = pipeline.stages.order_by("order").first()
    return services.article_create(
        actor=head,
        title="Первый звонок",
        body="Позвоните клиенту в течение 15 минут.",
        status="published",
        stages=[first],
        checklist=[
            {"text": "Перезвонить за 15 минут", "required": True},
            {"text": "Отправить письмо", "required": False},
        ],
    )
