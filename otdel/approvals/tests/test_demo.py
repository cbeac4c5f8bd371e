"""seed_demo on top of the sales and documents demos: the lawyer logs in to a contract awaiting them."""

import pytest

from otdel.accounts.models import User
from otdel.approvals.demo import seed_demo
from otdel.approvals.models import Approval, ApprovalRoute, DepartmentRequest
from otdel.approvals.selectors import awaiting
from otdel.demo.sales import load_demo
from otdel.documents.demo import seed_demo as seed_documents


@pytest.mark.django_db
def test_seed_demo_gives_the_lawyer_a_contract_to_approve_and_is_idempotent():
    load_demo(password="demo-pass-123", seed=7)
    seed_documents()
    seed_demo()
    seed_demo()
    assert ApprovalRoute.objects.count() == 1 and DepartmentRequest.objects.count() == 1
    assert Approval.objects.count() == 1
    lawyer = User.objects.get(username="novikov")
    tasks = list(awaiting(user=lawyer))
    assert len(tasks) == 1 and tasks[0].stage.approval.document.kind == "contract"
    assert User.objects.get(username="belova").department.head.username == "belova"
