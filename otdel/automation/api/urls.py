"""API routes of automation (mounted at /api/v1/); a trailing slash is optional."""

from django.urls import re_path

from otdel.automation.api import views
from otdel.crm.models import Deal, Lead

urlpatterns = [
    re_path(r"^tasks(?:/)?$", views.TaskListView.as_view(), name="api-tasks"),
    re_path(
        r"^tasks/(?P<pk>\d+)/complete(?:/)?$", views.TaskCompleteView.as_view(), name="api-task-complete"
    ),
    re_path(r"^automation/rules(?:/)?$", views.RuleListView.as_view(), name="api-rules"),
    re_path(r"^automation/rules/(?P<pk>\d+)(?:/)?$", views.RuleDetailView.as_view(), name="api-rule"),
    re_path(
        r"^automation/rules/(?P<pk>\d+)/runs(?:/)?$", views.RuleRunListView.as_view(), name="api-rule-runs"
    ),
    re_path(r"^sla-policies(?:/)?$", views.SlaPolicyListView.as_view(), name="api-sla-policies"),
    re_path(r"^leads/(?P<pk>\d+)/sla(?:/)?$", views.LeadSlaView.as_view(model=Lead), name="api-lead-sla"),
    re_path(r"^deals/(?P<pk>\d+)/sla(?:/)?$", views.LeadSlaView.as_view(model=Deal), name="api-deal-sla"),
]
