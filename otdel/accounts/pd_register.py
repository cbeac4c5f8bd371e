"""Personal data in the accounts app beyond users and absences (classified in privacy/register.py):
API tokens name their user and keep the address they were last used from."""

from otdel.privacy.register import ONLINE, SECURITY

PD_REGISTER = {
    "accounts.ApiToken": {
        "pd": {"last_used_ip": (ONLINE, SECURITY)},
        "not_pd": [
            "created_at",
            "updated_at",
            "user",
            "kind",
            "name",
            "scopes",
            "key_hash",
            "prefix",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_by",
        ],
    },
}
