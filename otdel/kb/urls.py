"""URLs of the knowledge-base pages and of the blocks other pages load."""

from django.urls import path

from otdel.kb import views

urlpatterns = [
    path("kb/", views.kb_home, name="kb_home"),
    path("kb/search/", views.kb_search, name="kb_search"),
    path("kb/preview/", views.kb_preview, name="kb_preview"),
    path("kb/misses/", views.kb_misses, name="kb_misses"),
    path("kb/articles/new/", views.kb_article_create, name="kb_article_create"),
    path("kb/articles/<int:pk>/", views.kb_article, name="kb_article"),
    path("kb/articles/<int:pk>/edit/", views.kb_article_edit, name="kb_article_edit"),
    path("kb/articles/<int:pk>/versions/<int:number>/", views.kb_version, name="kb_version"),
    path("kb/articles/<int:pk>/acknowledge/", views.kb_acknowledge, name="kb_acknowledge"),
    path("kb/articles/<int:pk>/remind/", views.kb_remind, name="kb_remind"),
    path("kb/articles/<int:pk>/attachments/", views.kb_attachment_add, name="kb_attachment_add"),
    path("kb/files/<int:pk>/", views.kb_file, name="kb_file"),
    path("kb/deals/<int:pk>/guidance/", views.kb_deal_guidance, name="kb_deal_guidance"),
    path(
        "kb/deals/<int:pk>/checklist/<int:item_id>/",
        views.kb_deal_checklist_mark,
        name="kb_deal_checklist_mark",
    ),
    path("kb/triage/", views.kb_triage, name="kb_triage"),
    path("kb/document-kinds/<slug:kind>/", views.kb_document_kind, name="kb_document_kind"),
    path("kb/faq-suggest/", views.kb_faq_suggest, name="kb_faq_suggest"),
]
