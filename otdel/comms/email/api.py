"""E-mail API: mailboxes and their sync status (administrators), sending an e-mail from the contact card."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from otdel.api.parsers import StrictJSONParser as JSONParser
from otdel.comms.email.selectors import mailbox_get, mailbox_list, mailbox_status
from otdel.comms.email.send import email_send
from otdel.comms.email.services import mailbox_create, mailbox_update
from otdel.comms.email.tasks import mailbox_sync_now
from otdel.comms.models import Attachment, Interaction, Mailbox, MailFolderCursor
from otdel.comms.selectors import interaction_summary
from otdel.core.scoping import get_scoped_or_404
from otdel.crm.models import Contact
from otdel.privacy.api import IsAdministrator

# --- mailboxes (administrators) ------------------------------------------------------------------


class MailboxInputSerializer(serializers.Serializer):
    address = serializers.EmailField()
    imap_host = serializers.CharField(max_length=255)
    imap_port = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    imap_ssl = serializers.BooleanField(required=False)
    username = serializers.CharField(max_length=255)
    password = serializers.CharField(max_length=255, write_only=True, trim_whitespace=False)
    smtp_host = serializers.CharField(max_length=255, required=False, allow_blank=True)
    smtp_port = serializers.IntegerField(
        min_value=1, max_value=65535, required=False, help_text="465: SSL, 587: STARTTLS, other: plain"
    )
    smtp_ssl = serializers.BooleanField(required=False)
    smtp_starttls = serializers.BooleanField(required=False)
    inbox_folder = serializers.CharField(max_length=120, required=False)
    sent_folder = serializers.CharField(max_length=120, required=False, allow_blank=True)
    queue = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Queue code")
    is_active = serializers.BooleanField(required=False)


class MailboxPatchSerializer(MailboxInputSerializer):
    address = serializers.EmailField(required=False)
    imap_host = serializers.CharField(max_length=255, required=False)
    username = serializers.CharField(max_length=255, required=False)
    password = serializers.CharField(
        max_length=255, write_only=True, required=False, allow_blank=True, trim_whitespace=False
    )
    version = serializers.IntegerField(required=False, help_text="The version you read (optimistic locking)")


class MailFolderCursorSerializer(serializers.ModelSerializer):
    class Meta:
        model = MailFolderCursor
        fields = ["folder", "uidvalidity", "last_uid", "updated_at"]


class MailboxOutputSerializer(serializers.ModelSerializer):
    """Everything but the password, which is never returned."""

    queue: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.SerializerMethodField(help_text='"never", "ok" or "error"')
    folders = MailFolderCursorSerializer(source="cursors", many=True, read_only=True)

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "address",
            "imap_host",
            "imap_port",
            "imap_ssl",
            "username",
            "smtp_host",
            "smtp_port",
            "smtp_ssl",
            "smtp_starttls",
            "inbox_folder",
            "sent_folder",
            "queue",
            "is_active",
            "status",
            "last_sync_at",
            "last_error",
            "last_error_at",
            "folders",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_status(self, mailbox: Mailbox) -> str:
        return mailbox_status(mailbox)


class MailboxListView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = MailboxOutputSerializer

    def get_queryset(self) -> Any:
        return mailbox_list(user=self.request.user)

    @extend_schema(summary="Mailboxes with their sync status", responses=MailboxOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Connect a mailbox (IMAP in, SMTP out)",
        request=MailboxInputSerializer,
        responses={
            201: MailboxOutputSerializer,
            409: OpenApiResponse(description="The address is connected"),
        },
    )
    def post(self, request: Request) -> Response:
        data = MailboxInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mailbox = mailbox_create(actor=request.user, **data.validated_data)
        mailbox = mailbox_get(user=request.user, pk=mailbox.pk)
        return Response(self.get_serializer(mailbox).data, status=status.HTTP_201_CREATED)


class MailboxDetailView(generics.GenericAPIView):
    permission_classes = [IsAdministrator]
    serializer_class = MailboxOutputSerializer

    @extend_schema(summary="A mailbox with its sync status and folder cursors")
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(mailbox_get(user=request.user, pk=pk)).data)

    @extend_schema(
        summary="Change a mailbox (a blank or missing password keeps the stored one)",
        request=MailboxPatchSerializer,
        responses=MailboxOutputSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        mailbox = mailbox_get(user=request.user, pk=pk)
        data = MailboxPatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        mailbox = mailbox_update(actor=request.user, mailbox=mailbox, **data.validated_data)
        return Response(self.get_serializer(mailbox_get(user=request.user, pk=mailbox.pk)).data)


class MailboxSyncView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="Poll this mailbox now (in the background)",
        request=None,
        responses={
            202: inline_serializer(
                "MailboxSyncQueued",
                {"status": serializers.CharField(), "result": serializers.DictField(allow_null=True)},
            )
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        mailbox = mailbox_get(user=request.user, pk=pk)
        queued = mailbox_sync_now.enqueue(mailbox.pk)
        # With an inline task backend the poll has already run: say how it went.
        done = queued.status == TaskResultStatus.SUCCESSFUL
        answer = {"status": "done" if done else "queued", "result": queued.return_value if done else None}
        return Response(answer, status=status.HTTP_202_ACCEPTED)


# --- sending from the card --------------------------------------------------------------------


class ContactEmailInputSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False, allow_blank=True, max_length=500)
    body = serializers.CharField(trim_whitespace=False)
    reply_to = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of the e-mail interaction being answered"
    )
    mailbox = serializers.IntegerField(required=False, allow_null=True, help_text="Send from this mailbox")
    attachments = serializers.ListField(child=serializers.FileField(), required=False)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size"]


class EmailSentSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="occurred_at")
    summary = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "channel",
            "direction",
            "at",
            "subject",
            "summary",
            "body",
            "contact",
            "deal",
            "lead",
            "message_id",
            "thread_key",
            "attachments",
        ]

    def get_summary(self, interaction: Interaction) -> str:
        return interaction_summary(interaction)


class ContactEmailView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Send an e-mail to the contact; it lands on their timeline in its thread",
        request=ContactEmailInputSerializer,
        responses={
            201: EmailSentSerializer,
            400: OpenApiResponse(description="Bad input or the SMTP server refused"),
        },
    )
    def post(self, request: Request, contact_id: int) -> Response:
        contact = get_scoped_or_404(Contact.objects.all(), request.user, pk=contact_id)
        data = ContactEmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        reply_to = None
        if values.get("reply_to"):
            # Only an e-mail on this contact's timeline (the card the user can see) can be answered.
            reply_to = Interaction.objects.filter(
                pk=values["reply_to"],
                contact__in=[contact.pk, *contact.merged_from.values_list("pk", flat=True)],
            ).first()
            if reply_to is None:
                raise serializers.ValidationError({"reply_to": [_("Answer an e-mail of this contact.")]})
        mailbox = None
        if values.get("mailbox"):
            mailbox = Mailbox.objects.filter(pk=values["mailbox"], is_active=True).first()
            if mailbox is None:
                raise serializers.ValidationError({"mailbox": [_("There is no such active mailbox.")]})
        interaction = email_send(
            actor=request.user,
            contact=contact,
            subject=values.get("subject", ""),
            body=values["body"],
            reply_to=reply_to,
            mailbox=mailbox,
            attachments=values.get("attachments", []),
        )
        return Response(EmailSentSerializer(interaction).data, status=status.HTTP_201_CREATED)
