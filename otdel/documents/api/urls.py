"""API routes of the documents app (a trailing slash is optional, as everywhere in the API)."""

from django.urls import re_path

from otdel.documents.api import views

urlpatterns = [
    re_path(r"^products(?:/)?$", views.ProductListView.as_view(), name="api-products"),
    re_path(r"^products/(?P<pk>\d+)(?:/)?$", views.ProductDetailView.as_view(), name="api-product"),
    re_path(r"^deals/(?P<pk>\d+)/items(?:/)?$", views.DealItemsView.as_view(), name="api-deal-items"),
    re_path(
        r"^deals/(?P<pk>\d+)/documents(?:/)?$", views.DealDocumentsView.as_view(), name="api-deal-documents"
    ),
    re_path(r"^my-company(?:/)?$", views.MyCompanyView.as_view(), name="api-my-company"),
    re_path(r"^legal-entities(?:/)?$", views.LegalEntityListView.as_view(), name="api-legal-entities"),
    re_path(
        r"^legal-entities/(?P<pk>\d+)(?:/)?$", views.LegalEntityDetailView.as_view(), name="api-legal-entity"
    ),
    re_path(r"^numbering(?:/)?$", views.NumberingListView.as_view(), name="api-numbering"),
    re_path(r"^document-templates(?:/)?$", views.TemplateListView.as_view(), name="api-document-templates"),
    re_path(
        r"^document-templates/reference(?:/)?$",
        views.TemplateReferenceView.as_view(),
        name="api-template-reference",
    ),
    re_path(
        r"^document-templates/(?P<pk>\d+)(?:/)?$",
        views.TemplateDetailView.as_view(),
        name="api-document-template",
    ),
    re_path(
        r"^document-templates/(?P<pk>\d+)/file(?:/)?$",
        views.TemplateFileView.as_view(),
        name="api-document-template-file",
    ),
    re_path(r"^documents/(?P<pk>\d+)(?:/)?$", views.DocumentDetailView.as_view(), name="api-document"),
    re_path(
        r"^documents/(?P<pk>\d+)/regenerate(?:/)?$",
        views.DocumentRegenerateView.as_view(),
        name="api-document-regenerate",
    ),
    re_path(
        r"^documents/(?P<pk>\d+)/retry(?:/)?$", views.DocumentRetryView.as_view(), name="api-document-retry"
    ),
    re_path(
        r"^documents/(?P<pk>\d+)/download(?:/)?$",
        views.DocumentDownloadView.as_view(),
        name="api-document-download",
    ),
    re_path(
        r"^documents/(?P<pk>\d+)/send(?:/)?$", views.DocumentSendView.as_view(), name="api-document-send"
    ),
]
