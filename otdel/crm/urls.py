"""URLs of the CRM pages."""

from django.urls import path

from otdel.crm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("deals/", views.kanban, name="kanban"),
    path("deals/column/<int:stage_id>/", views.kanban_column, name="kanban_column"),
    path("deals/list/", views.deal_list, name="deal_list"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal_move"),
    path("deals/quick-add/<int:stage_id>/", views.deal_quick_add, name="deal_quick_add"),
    path("deals/<int:pk>/notes/", views.note_add, {"subject": "deal"}, name="deal_note_add"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/pick/", views.contact_pick, name="contact_pick"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/merge/", views.contact_merge, name="contact_merge"),
    path("contacts/<int:pk>/notes/", views.note_add, {"subject": "contact"}, name="contact_note_add"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/pick/", views.company_pick, name="company_pick"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/notes/", views.note_add, {"subject": "company"}, name="company_note_add"),
    path("leads/", views.lead_inbox, name="lead_inbox"),
    path("leads/all/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/triage/", views.lead_triage, name="lead_triage"),
    path("search/", views.search, name="search"),
    path("search/suggest/", views.search_suggest, name="search_suggest"),
]
