"""Automation API: tasks, rules and their run log, SLA policies (CONTRACTS "Tasks, automation, SLA")."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from otdel.accounts.permissions import signed_in
from otdel.api.base import BAD_REQUEST, FORBIDDEN, NOT_FOUND
from otdel.automation import services
from otdel.automation.api.serializers import (
    RuleInputSerializer,
    RuleRunSerializer,
    RuleSerializer,
    SlaPolicyInputSerializer,
    SlaPolicySerializer,
    TaskInputSerializer,
    TaskSerializer,
)
from otdel.automation.models import Rule, SlaPolicy
from otdel.crm import services as crm_services
from otdel.crm.models import Task
from otdel.crm.selectors import task_list


class IsRuleManager(BasePermission):
    """Rules and SLA policies: administrators and the head of sales."""

    def has_permission(self, request: Request, view: Any) -> bool:
        from otdel.accounts.permissions import may_manage_routing

        user = request.user
        return bool(user and user.is_authenticated and may_manage_routing(user))


class TaskListView(generics.ListAPIView):
    serializer_class = TaskSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Task]:
        qs = task_list(user=self.request.user).order_by("done_at", "due_at", "id")
        params = self.request.query_params
        for name in ("assignee", "deal", "contact", "lead"):
            value = params.get(name)
            if value not in (None, ""):
                if not str(value).isdigit():
                    raise serializers.ValidationError({name: ["A whole number (an id)."]})
                qs = qs.filter(**{f"{name}_id": int(str(value))})
        state = params.get("state")
        if state == "open":
            qs = qs.filter(done_at__isnull=True)
        elif state == "done":
            qs = qs.filter(done_at__isnull=False)
        elif state == "overdue":
            qs = qs.filter(done_at__isnull=True, due_at__lt=timezone.now())
        elif state not in (None, ""):
            raise serializers.ValidationError({"state": ["One of open, done, overdue."]})
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("assignee", OpenApiTypes.INT),
            OpenApiParameter("deal", OpenApiTypes.INT),
            OpenApiParameter("contact", OpenApiTypes.INT),
            OpenApiParameter("lead", OpenApiTypes.INT),
            OpenApiParameter("state", OpenApiTypes.STR, enum=["open", "done", "overdue"]),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TaskInputSerializer, responses={201: TaskSerializer, 400: BAD_REQUEST})
    def post(self, request: Request) -> Response:
        data = TaskInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        task = crm_services.task_create(actor=signed_in(request), **data.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskCompleteView(generics.GenericAPIView):
    serializer_class = TaskSerializer

    @extend_schema(request=None, responses={200: TaskSerializer, 404: NOT_FOUND})
    def post(self, request: Request, pk: int) -> Response:
        task = get_object_or_404(task_list(user=request.user), pk=pk)
        task = crm_services.task_complete(actor=signed_in(request), task=task)
        return Response(TaskSerializer(task).data)


class RuleListView(generics.ListAPIView):
    permission_classes = [IsRuleManager]
    serializer_class = RuleSerializer
    queryset = Rule.objects.all()
    filter_backends: list[Any] = []

    @extend_schema(
        request=RuleInputSerializer, responses={201: RuleSerializer, 400: BAD_REQUEST, 403: FORBIDDEN}
    )
    def post(self, request: Request) -> Response:
        data = RuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_create(actor=request.user, **data.validated_data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailView(generics.RetrieveDestroyAPIView):
    permission_classes = [IsRuleManager]
    serializer_class = RuleSerializer
    queryset = Rule.objects.all()

    @extend_schema(request=RuleInputSerializer, responses={200: RuleSerializer, 400: BAD_REQUEST})
    def patch(self, request: Request, pk: int) -> Response:
        rule = self.get_object()
        data = RuleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.rule_update(actor=request.user, rule=rule, **data.validated_data)
        return Response(RuleSerializer(rule).data)


class RuleRunListView(generics.ListAPIView):
    permission_classes = [IsRuleManager]
    serializer_class = RuleRunSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Any]:
        rule = get_object_or_404(Rule, pk=self.kwargs["pk"])
        return rule.runs.prefetch_related("deliveries").order_by("-due_at", "-id")


class SlaPolicyListView(generics.ListAPIView):
    permission_classes = [IsRuleManager]
    serializer_class = SlaPolicySerializer
    queryset = SlaPolicy.objects.all()
    filter_backends: list[Any] = []

    @extend_schema(request=SlaPolicyInputSerializer, responses={201: SlaPolicySerializer, 400: BAD_REQUEST})
    def post(self, request: Request) -> Response:
        data = SlaPolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.sla_policy_create(actor=request.user, **data.validated_data)
        return Response(SlaPolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class LeadSlaView(generics.GenericAPIView):
    """``GET /api/v1/leads/{id}/sla`` and ``/deals/{id}/sla``: the clocks of one record."""

    serializer_class = serializers.Serializer
    model: Any = None

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        from otdel.automation.sla import sla_for
        from otdel.core.scoping import scope

        record = get_object_or_404(scope(self.model.objects.all(), request.user), pk=pk)
        kwargs = {"lead": record} if self.model.__name__ == "Lead" else {"deal": record}
        return Response({"sla": sla_for(**kwargs)})
