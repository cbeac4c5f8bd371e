"""URLs of the approvals pages and of the deal card's block."""

from django.urls import path

from otdel.approvals import views

urlpatterns = [
    path("approvals/", views.approvals_inbox, name="approvals_inbox"),
    path("approvals/<int:pk>/", views.approval_detail, name="approvals_detail"),
    path("approvals/<int:pk>/pdf/", views.approval_pdf, name="approvals_pdf"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approvals_decide"),
    path("approvals/<int:pk>/cancel/", views.approval_cancel, name="approvals_cancel"),
    path("approvals/routes/", views.routes, name="approvals_routes"),
    path("approvals/routes/new/", views.route_edit, name="approvals_route_create"),
    path("approvals/routes/<int:pk>/", views.route_edit, name="approvals_route_edit"),
    path("approvals/departments/", views.departments, name="approvals_departments"),
    path("approvals/departments/<int:pk>/", views.department_inbox, name="approvals_department_inbox"),
    path("approvals/departments/<int:pk>/desk/", views.desk_save, name="approvals_desk_save"),
    path("approvals/requests/<int:pk>/status/", views.request_status, name="approvals_request_status"),
    path("approvals/request-files/<int:pk>/", views.request_file, name="approvals_request_file"),
    path("approvals/deals/<int:pk>/block/", views.deal_block, name="approvals_deal_block"),
    path("approvals/deals/<int:pk>/requests/", views.request_create, name="approvals_request_create"),
    path("approvals/documents/<int:pk>/send/", views.document_send, name="approvals_document_send"),
]
