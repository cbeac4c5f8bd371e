"""Personal data in the documents app (read by ``otdel.privacy.register``): generated documents and
their files name the client's people; our own legal entity's signatory and contacts are employees."""

from otdel.privacy.register import EMPLOYEE, FILES, FREE_TEXT, NAME, SALES, STAFF

PD_REGISTER = {
    "documents.Product": {
        "not_pd": ["sku", "name", "unit", "price", "vat_rate", "is_active", "search_text"],
    },
    "documents.DealItem": {
        "not_pd": [
            "deal",
            "position",
            "product",
            "name",
            "quantity",
            "unit",
            "price",
            "discount_percent",
            "vat_rate",
            "total",
            "vat",
        ],
    },
    "documents.LegalEntity": {
        "pd": {
            "signatory": (EMPLOYEE, STAFF),
            "accountant": (EMPLOYEE, STAFF),
            "phone": (EMPLOYEE, STAFF),
            "email": (EMPLOYEE, STAFF),
        },
        "not_pd": [
            "name",
            "full_name",
            "inn",
            "kpp",
            "ogrn",
            "address",
            "bank_name",
            "bik",
            "account",
            "corr_account",
            "signatory_position",
            "signatory_basis",
            "is_default",
        ],
    },
    "documents.NumberingSequence": {"not_pd": ["code", "name", "pattern", "reset", "legal_entity"]},
    "documents.NumberingCounter": {"not_pd": ["sequence", "period", "last"]},
    "documents.DocumentTemplate": {
        "not_pd": [
            "name",
            "kind",
            "numbering",
            "file",
            "original_name",
            "size",
            "sha256",
            "variables",
            "is_active",
            "revision",
            "uploaded_by",
        ],
    },
    "documents.Document": {
        "pd": {"title": (NAME, SALES), "error": (FREE_TEXT, SALES)},
        "not_pd": [
            "deal",
            "template",
            "legal_entity",
            "numbering",
            "kind",
            "number",
            "date",
            "format",
            "status",
            "author",
            "current_version",
            "pending_version",
            "deleted_at",
        ],
    },
    "documents.DocumentVersion": {
        "pd": {"file": (FILES, SALES), "preview": (FILES, SALES)},
        "not_pd": ["document", "format", "sha256", "size", "pages", "author"],
    },
}
