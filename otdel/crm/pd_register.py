"""Personal data in the CRM fields added for custom fields (the rest of crm is in privacy/register.py).

A custom field's value is whatever the department decided to keep (a birthday, a second phone, a
passport number): it is classified as personal data of the "other information" category.
"""

from otdel.privacy.register import FREE_TEXT, SALES

PD_REGISTER = {
    "crm.Company": {"pd": {"custom": (FREE_TEXT, SALES)}},
    "crm.Contact": {"pd": {"custom": (FREE_TEXT, SALES)}},
    "crm.Lead": {"pd": {"custom": (FREE_TEXT, SALES)}},
    "crm.Deal": {"pd": {"custom": (FREE_TEXT, SALES)}},
    "crm.CustomField": {
        "not_pd": ["entity", "code", "name", "type", "options", "required", "in_list", "is_active", "order"]
    },
}
