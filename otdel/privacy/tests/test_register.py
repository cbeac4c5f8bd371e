"""The register of personal data covers every field of every otdel model."""

from django.apps import apps

from otdel.privacy.register import (
    COMMON_NOT_PD,
    REGISTER,
    classify,
    model_fields,
    pd_fields,
    processing_register,
    unclassified,
)


def test_every_field_of_every_otdel_model_is_classified():
    missing = unclassified()
    assert missing == [], (
        "Classify these fields in otdel/privacy/register.py (or your app's pd_register.py): "
        + ", ".join(missing)
    )


def test_the_walk_covers_every_installed_otdel_app():
    labels = {m._meta.app_label for m in apps.get_models() if m.__module__.startswith("otdel.")}
    assert {"crm", "comms", "privacy", "accounts"} <= labels
    covered = {label.split(".")[0] for label in REGISTER}
    assert labels <= covered


def test_a_new_field_nobody_classified_is_reported():
    entry = REGISTER["crm.contact"]
    entry.not_pd.discard("company")
    try:
        assert "crm.Contact.company" in unclassified()
    finally:
        entry.not_pd.add("company")


def test_a_field_is_either_pd_or_not_never_both():
    for label, entry in REGISTER.items():
        assert not set(entry.pd) & entry.not_pd, label
        assert not set(entry.pd) & COMMON_NOT_PD, label


def test_contact_name_and_phone_are_personal_data():
    contact = apps.get_model("crm", "Contact")
    identity = apps.get_model("crm", "Identity")
    assert pd_fields(contact)["full_name"][0] == "name"
    assert pd_fields(identity)["value"][0] == "contact_details"
    assert "full_name" in model_fields(contact)


def test_processing_register_lists_purposes_with_their_fields():
    rows = {row["purpose"].code: row for row in processing_register()}
    assert {"sales", "security", "staff"} <= set(rows)
    assert ("crm.contact", "full_name", rows["sales"]["categories"]["name"]) in rows["sales"]["fields"]


def test_unknown_category_is_refused():
    import pytest

    with pytest.raises(ValueError):
        classify("crm.Contact", pd={"full_name": ("shoe_size", "sales")})
