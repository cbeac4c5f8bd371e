"""Serializers of the documents API: money as decimal strings, dates ISO 8601."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from otdel.documents.models import (
    DealItem,
    Document,
    DocumentTemplate,
    DocumentVersion,
    LegalEntity,
    NumberingSequence,
    Product,
    VatRate,
)

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": True}
VERSION_HELP = "The version you read; a stale one is refused with 409 (code stale_version)"


class ProductSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "unit",
            "price",
            "vat_rate",
            "is_active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=500)
    unit = serializers.CharField(max_length=16, required=False, default="шт")
    price = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    vat_rate = serializers.ChoiceField(choices=VatRate.choices, required=False, default=VatRate.VAT20)
    is_active = serializers.BooleanField(required=False, default=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class DealItemSerializer(serializers.ModelSerializer):
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=3, coerce_to_string=True, read_only=True
    )
    price = serializers.DecimalField(**MONEY, read_only=True)
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True, read_only=True
    )
    total = serializers.DecimalField(**MONEY, read_only=True)
    vat = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = DealItem
        fields = [
            "id",
            "product",
            "name",
            "quantity",
            "unit",
            "price",
            "discount_percent",
            "vat_rate",
            "vat",
            "total",
        ]
        read_only_fields = fields


class DealItemInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    name = serializers.CharField(max_length=500, required=False, allow_blank=True)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=3, min_value=0, required=False, default=Decimal("1")
    )
    unit = serializers.CharField(max_length=16, required=False, allow_blank=True)
    price = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, default=Decimal("0")
    )
    vat_rate = serializers.ChoiceField(choices=VatRate.choices, required=False, allow_blank=True)


class DealItemsInputSerializer(serializers.Serializer):
    items = DealItemInputSerializer(many=True, allow_empty=True)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The deal's version you read (409 when stale)"
    )


class TotalsSerializer(serializers.Serializer):
    net = serializers.DecimalField(**MONEY)
    vat = serializers.DecimalField(**MONEY)
    gross = serializers.DecimalField(**MONEY)


class DealItemsSerializer(serializers.Serializer):
    items = DealItemSerializer(many=True)
    totals = TotalsSerializer()
    deal_version = serializers.IntegerField(help_text="The deal's version after the change")
    amount = serializers.DecimalField(**MONEY, help_text="The deal's amount")


class LegalEntitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalEntity
        fields = ["id", *LegalEntity.REQUISITES, "is_default", "version", "created_at", "updated_at"]
        read_only_fields = fields


def _requisite(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class LegalEntityInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    full_name = _requisite(500)
    inn = _requisite(12)
    kpp = _requisite(9)
    ogrn = _requisite(15)
    address = _requisite(500)
    bank_name = _requisite(255)
    bik = _requisite(9)
    account = _requisite(20)
    corr_account = _requisite(20)
    signatory = _requisite(255)
    signatory_position = _requisite(255)
    signatory_basis = _requisite(255)
    accountant = _requisite(255)
    phone = _requisite(64)
    email = _requisite(254)
    is_default = serializers.BooleanField(required=False)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class NumberingSerializer(serializers.ModelSerializer):
    class Meta:
        model = NumberingSequence
        fields = ["id", "code", "name", "pattern", "reset", "legal_entity", "created_at"]
        read_only_fields = fields


class NumberingInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    pattern = serializers.CharField(
        max_length=120, help_text="e.g. Д-{YYYY}-{N:04}; also {YY}, {MM}, {DD}, {N}"
    )
    reset = serializers.ChoiceField(
        choices=NumberingSequence.Reset.choices, default=NumberingSequence.Reset.YEARLY
    )
    legal_entity = serializers.PrimaryKeyRelatedField(
        queryset=LegalEntity.objects.all(), required=False, allow_null=True
    )


class TemplateSerializer(serializers.ModelSerializer):
    numbering: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = DocumentTemplate
        fields = [
            "id",
            "name",
            "kind",
            "numbering",
            "original_name",
            "size",
            "sha256",
            "variables",
            "is_active",
            "revision",
            "created_at",
        ]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=".docx with docxtpl (Jinja2) tags")
    name = serializers.CharField(max_length=255)
    kind = serializers.CharField(max_length=64, help_text="contract, invoice, act, offer, ... (free text)")
    numbering: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", queryset=NumberingSequence.objects.all(), required=False, allow_null=True
    )


class VersionSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = DocumentVersion
        fields = ["version", "format", "sha256", "size", "pages", "created_at", "download"]
        read_only_fields = fields

    def get_download(self, obj: DocumentVersion) -> str:
        url = reverse("api-document-download", args=[obj.document_id])
        return f"{url}?format={obj.format}&version={obj.version}"


class DocumentSerializer(serializers.ModelSerializer):
    versions = VersionSerializer(many=True, read_only=True)
    template_name = serializers.CharField(source="template.name", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "deal",
            "template",
            "template_name",
            "legal_entity",
            "kind",
            "title",
            "number",
            "date",
            "format",
            "status",
            "error",
            "current_version",
            "versions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer):
    template = serializers.PrimaryKeyRelatedField(queryset=DocumentTemplate.objects.filter(is_active=True))
    format = serializers.ChoiceField(choices=["pdf", "docx"], default="pdf")
    legal_entity = serializers.PrimaryKeyRelatedField(
        queryset=LegalEntity.objects.all(),
        required=False,
        allow_null=True,
        help_text="Which of our legal entities issues it (default: the template numbering's, else the default one)",
    )


class DocumentSendSerializer(serializers.Serializer):
    to = serializers.EmailField(
        required=False,
        allow_blank=True,
        help_text="One of the contact's e-mail addresses (default: the primary)",
    )
    subject = serializers.CharField(max_length=500, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)


class TemplatePatchSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


class TemplateFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the new .docx; checked like an upload")


class ReferenceRowSerializer(serializers.Serializer):
    variable = serializers.CharField()
    description = serializers.CharField()
    example = serializers.CharField()
