"""Version 1 of the public API (CONTRACTS.md): auth, users, CRM; other apps mount theirs in otdel/urls.py."""

from django.urls import re_path

from otdel.accounts.api.views import TokenObtainView, UserViewSet
from otdel.api.routers import OptionalSlashRouter
from otdel.crm.api.views import (
    CompanyViewSet,
    ContactViewSet,
    DealViewSet,
    LeadViewSet,
    LostReasonViewSet,
    PipelineViewSet,
)

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="api-user")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("companies", CompanyViewSet, basename="api-company")
router.register("leads", LeadViewSet, basename="api-lead")
router.register("deals", DealViewSet, basename="api-deal")
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("lost-reasons", LostReasonViewSet, basename="api-lost-reason")

urlpatterns = [
    re_path(r"^auth/token(?:/)?$", TokenObtainView.as_view(), name="api-auth-token"),
    *router.urls,
]
