"""Personal data in the accounts app beyond users and absences (classified in privacy/register.py):
API tokens name their user and keep the address they were last used from; recovery codes of the
second sign-in factor are hashes."""

from otdel.privacy.register import CREDENTIALS, ONLINE, SECURITY

PD_REGISTER = {
    # Hashes of one-time sign-in codes: credentials of an employee.
    "accounts.RecoveryCode": {
        "pd": {"code_hash": (CREDENTIALS, SECURITY)},
        "not_pd": ["user", "created_at", "used_at"],
    },
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
