"""URLs of the documents pages."""

from django.urls import path

from otdel.documents import views

urlpatterns = [
    path("deals/<int:pk>/documents-block/", views.deal_block, name="documents_deal_block"),
    path("deals/<int:pk>/items/", views.deal_items_save, name="documents_items_save"),
    path("deals/<int:pk>/documents/generate/", views.document_generate, name="documents_generate"),
    path("documents/<int:pk>/download/", views.document_download, name="documents_download"),
    path("documents/<int:pk>/preview/<int:version>/", views.document_preview, name="documents_preview"),
    path("documents/<int:pk>/compose/", views.document_compose, name="documents_compose"),
    path("documents/<int:pk>/<str:action>/", views.document_action, name="documents_action"),
    path("catalog/", views.catalog, name="documents_catalog"),
    path("catalog/<int:pk>/edit/", views.product_edit, name="documents_product_edit"),
    path("catalog/<int:pk>/active/", views.product_active, name="documents_product_active"),
    path("documents/templates/", views.templates_page, name="documents_templates"),
    path("documents/templates/<int:pk>/file/", views.template_download, name="documents_template_file"),
    path("documents/templates/<int:pk>/active/", views.template_active, name="documents_template_active"),
    path(
        "documents/templates/<int:pk>/version/",
        views.template_upload_version,
        name="documents_template_version",
    ),
    path("documents/requisites/", views.requisites_page, name="documents_requisites"),
]
