"""The privacy demo data works on top of contacts and is idempotent."""

import pytest

from otdel.crm.services import contact_create
from otdel.privacy.demo import seed_demo
from otdel.privacy.models import BreachIncident, Consent, ConsentPurpose, PurposeRule, SubjectRequest


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_rows(admin_user):
    for n in range(7):
        contact_create(actor=admin_user, full_name=f"Демо {n}", identities=[("phone", f"+7916555{n:04d}")])
    seed_demo()
    counts = [
        m.objects.count() for m in (ConsentPurpose, PurposeRule, Consent, SubjectRequest, BreachIncident)
    ]
    seed_demo()
    assert counts == [
        m.objects.count() for m in (ConsentPurpose, PurposeRule, Consent, SubjectRequest, BreachIncident)
    ]
    assert counts[:2] == [2, 2] and counts[2] == 9 and counts[3] == 2
    assert Consent.objects.filter(withdrawn_at__isnull=False).count() == 1
