"""Version 1 of the public API (CONTRACTS.md): auth, users and CRM here; every other app's API from its
``<app>/api/urls.py``, mounted below in one list."""

from django.urls import include, path, re_path

from otdel.accounts.api.views import IntegrationTokenViewSet, TokenObtainView, UserViewSet
from otdel.api.routers import OptionalSlashRouter
from otdel.crm.api.views import (
    CompanyViewSet,
    ContactViewSet,
    CustomFieldViewSet,
    DealViewSet,
    LeadViewSet,
    LostReasonViewSet,
    PipelineViewSet,
    StageViewSet,
)

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="api-user")
router.register("integration-tokens", IntegrationTokenViewSet, basename="api-integration-token")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("companies", CompanyViewSet, basename="api-company")
router.register("leads", LeadViewSet, basename="api-lead")
router.register("deals", DealViewSet, basename="api-deal")
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("lost-reasons", LostReasonViewSet, basename="api-lost-reason")
router.register("stages", StageViewSet, basename="api-stage")
router.register("custom-fields", CustomFieldViewSet, basename="api-custom-field")

APP_APIS = (
    "otdel.comms.api.urls",
    "otdel.routing.api.urls",
    "otdel.privacy.api.urls",
    "otdel.reports.api.urls",
    "otdel.transfer.api.urls",
    "otdel.documents.api.urls",
    "otdel.kb.api.urls",
    "otdel.approvals.api.urls",
    "otdel.automation.api.urls",
)

urlpatterns = [
    re_path(r"^auth/token(?:/)?$", TokenObtainView.as_view(), name="api-auth-token"),
    *router.urls,
    *(path("", include(module)) for module in APP_APIS),
]
