"""Factories for CRM records."""

from decimal import Decimal

import factory

from otdel.crm.models import Company, Contact, Deal, Identity, Lead, LostReason, Pipeline, Stage


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"ООО Ромашка {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    full_name = factory.Sequence(lambda n: f"Иванов Иван {n}")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    contact = factory.SubFactory(ContactFactory)
    kind = "phone"
    value = factory.Sequence(lambda n: f"+7912{n:07d}")


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Продажи {n}")
    is_default = True

    @factory.post_generation
    def stages(obj, create, extracted, **kwargs):
        if not create:
            return
        names = extracted or [
            ("Новая", "open"),
            ("Переговоры", "open"),
            ("Счёт выставлен", "open"),
            ("Успешно", "won"),
            ("Проиграна", "lost"),
        ]
        for order, (name, kind) in enumerate(names):
            Stage.objects.create(pipeline=obj, name=name, kind=kind, order=order)


class LostReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LostReason
        django_get_or_create = ("name",)

    name = "Дорого"


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"Сделка {n}")
    pipeline = factory.SubFactory(PipelineFactory)
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.order_by("order").first())
    contact = factory.SubFactory(ContactFactory)
    amount = Decimal("100000")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    contact = factory.SubFactory(ContactFactory)
    source = "form"
    channel = "form"
