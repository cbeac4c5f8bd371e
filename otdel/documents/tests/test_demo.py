"""seed_demo on top of the core demo: templates, requisites, numbering, catalog, line items; twice is once."""

import pytest

from otdel.crm.models import Deal
from otdel.demo.sales import load_demo
from otdel.documents.demo import seed_demo
from otdel.documents.models import DealItem, DocumentTemplate, LegalEntity, NumberingSequence, Product


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent():
    load_demo(password="demo-pass-123", seed=7)
    seed_demo()
    counts = (
        DocumentTemplate.objects.count(),
        NumberingSequence.objects.count(),
        Product.objects.count(),
        DealItem.objects.count(),
    )
    seed_demo()
    assert counts == (
        DocumentTemplate.objects.count(),
        NumberingSequence.objects.count(),
        Product.objects.count(),
        DealItem.objects.count(),
    )
    assert sorted(DocumentTemplate.objects.values_list("kind", flat=True)) == [
        "act",
        "contract",
        "invoice",
        "offer",
    ]
    entity = LegalEntity.objects.get(is_default=True)
    assert entity.bik == "044525225" and entity.account
    assert counts[3] >= 10
    with_items = Deal.objects.filter(items__isnull=False).distinct()
    assert with_items.count() == 6
    for deal in with_items:
        assert deal.amount == sum(item.total for item in deal.items.all())
