"""API routes of the knowledge base (mounted under /api/v1/)."""

from django.urls import re_path

from otdel.api.routers import OptionalSlashRouter
from otdel.kb.api import views

router = OptionalSlashRouter()
router.register("kb/articles", views.ArticleViewSet, basename="api-kb-article")

urlpatterns = [
    re_path(r"^kb/search(?:/)?$", views.SearchView.as_view(), name="api-kb-search"),
    re_path(r"^kb/misses(?:/)?$", views.SearchMissView.as_view(), name="api-kb-misses"),
    re_path(r"^kb/adherence(?:/)?$", views.AdherenceView.as_view(), name="api-kb-adherence"),
    re_path(
        r"^deals/(?P<pk>\d+)/guidance(?:/)?$", views.DealGuidanceView.as_view(), name="api-deal-guidance"
    ),
    re_path(
        r"^deals/(?P<pk>\d+)/checklist/(?P<item_id>\d+)(?:/)?$",
        views.DealChecklistMarkView.as_view(),
        name="api-deal-checklist-mark",
    ),
    *router.urls,
]
