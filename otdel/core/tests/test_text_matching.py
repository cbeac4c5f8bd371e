"""Text matching folds Russian case the same way on SQLite and PostgreSQL."""

import pytest

from otdel.crm.models import Company


@pytest.mark.django_db
def test_icontains_folds_cyrillic_case_on_every_database():
    Company.objects.create(name="ООО Станкостроитель")
    assert Company.objects.filter(name__icontains="станко").count() == 1
    assert Company.objects.filter(name__icontains="СТАНКО").count() == 1
    assert Company.objects.filter(name__icontains="100%").count() == 0
