"""Otdel settings, read from the environment (see README "Configuration")."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("OTDEL_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
# The database, its WAL, uploads and recordings live here: readable by Otdel's user only.
with contextlib.suppress(OSError):  # not ours to change (a mount point): the deployment sets it
    DATA_DIR.chmod(0o700)

DEBUG = env_bool("OTDEL_DEBUG", False)
SECRET_KEY = os.environ.get("OTDEL_SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept in the data dir, so sessions survive restarts
    # without anyone having to invent a secret on first start.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("OTDEL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("OTDEL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "otdel.core",
    "otdel.accounts",
    "otdel.live",  # server push to open tabs: below every app that pushes (docs/live.md)
    "otdel.crm",
    "otdel.routing",
    "otdel.comms",
    "otdel.automation",
    "otdel.privacy",
    "otdel.documents",
    "otdel.reports",
    "otdel.transfer",
    "otdel.ops",
    "otdel.demo",
    "otdel.kb",
    "otdel.approvals",
    "otdel.web",
    "otdel.api",
]

MIDDLEWARE = [
    # Request latency for Prometheus, outermost so it times everything; removes itself unless
    # OTDEL_METRICS_TOKEN is set (otdel/ops/metrics.py).
    "otdel.ops.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every answer under /api/ in the JSON error shape: 400/413 for bad bodies, JSON 404s.
    "otdel.api.middleware.ApiErrorMiddleware",
    # A NUL character in the query string: 400 before any view (PostgreSQL text cannot hold one).
    "otdel.core.middleware.RefuseNulMiddleware",
    # Answers the PBX's route question before sessions, CSRF and DRF (otdel/routing/middleware.py).
    "otdel.routing.middleware.LiveRouteMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two-factor sign-in (django-otp): administrators must enrol and confirm a TOTP code per session.
    "django_otp.middleware.OTPMiddleware",
    "otdel.accounts.twofactor.AdminTwoFactorMiddleware",
    "otdel.accounts.middleware.UserLanguageMiddleware",
    "otdel.core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Who opened which contact card or searched whom (152-FZ access log, otdel/privacy/access.py).
    "otdel.privacy.access.PDAccessMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Turns a sign-in refused by the lockout (otdel/core/lockout.py) into a 429; keep it last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "otdel.urls"
WSGI_APPLICATION = "otdel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "otdel.web.context_processors.navigation",
            ],
        },
    },
]

SQLITE_PATH = DATA_DIR / "otdel.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open like PostgreSQL's: reopening the file and its WAL costs ~2 ms on every request.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; FULL keeps committed data on power loss.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        # Take the write lock at BEGIN so concurrent writers queue instead of failing mid-way.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Tests use a real file (not shared-cache memory) so concurrency tests see WAL and busy waits.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("OTDEL_TEST_SQLITE", str(DATA_DIR / f"test-otdel-{os.getpid()}.sqlite3"))
    }
# One cache for every process (web workers, task workers, the Asterisk listener), in the
# database Otdel already has: e.g. "route this Mango call once" holds across gunicorn workers.
# The table is made by a migration (core 0005).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "otdel_cache",
        "OPTIONS": {"MAX_ENTRIES": 10000},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(os.environ.get("OTDEL_PASSWORD_MIN_LENGTH", "8"))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (django-axes, otdel/core/lockout.py): per account and per address, on /login/,
# /admin/login/ and the API's token endpoint.
AUTHENTICATION_BACKENDS = [
    "otdel.core.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("OTDEL_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = float(os.environ.get("OTDEL_LOGIN_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "otdel.core.net.client_ip"
AXES_LOCKOUT_CALLABLE = "otdel.core.lockout.lockout_response"
AXES_VERBOSE = False
# Hosts on the local network Otdel may fetch from (recordings of a PBX in the office, say);
# every other outbound request goes to public addresses only (otdel/core/outbound.py).
OTDEL_OUTBOUND_ALLOWED_HOSTS = [
    h.strip().lower() for h in os.environ.get("OTDEL_OUTBOUND_ALLOWED_HOSTS", "").split(",") if h.strip()
]
# Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); see
# otdel/core/net.py. The default: a reverse proxy on the same machine.
OTDEL_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("OTDEL_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()
]
# Personal API tokens (POST /api/v1/auth/token) expire after this many days; 0: never. Tokens of
# technical "integration" accounts and integration tokens made in the UI do not expire by age.
OTDEL_API_TOKEN_DAYS = float(os.environ.get("OTDEL_API_TOKEN_DAYS", "30"))
# Administrators sign in with a password and a TOTP code (otdel/accounts/twofactor.py); 0 turns
# the requirement off (a test setup, or an installation that signs in through its own SSO).
OTDEL_ADMIN_TWO_FACTOR = os.environ.get("OTDEL_ADMIN_TWO_FACTOR", "1") == "1"
OTP_TOTP_ISSUER = "Otdel"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("OTDEL_LANGUAGE", "ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "otdel" / "locale"]
TIME_ZONE = os.environ.get("OTDEL_TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True
OTDEL_PHONE_REGION = os.environ.get("OTDEL_PHONE_REGION", "RU")
OTDEL_DEFAULT_CURRENCY = "RUB"
# The address clients' systems reach Otdel at (webhook URLs for Telegram, PBXs, form snippets).
OTDEL_PUBLIC_URL = os.environ.get("OTDEL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get("OTDEL_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Hashed, expiring, revocable tokens; integration tokens with scopes (otdel/accounts/tokens.py).
        "otdel.accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "otdel.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "otdel.api.errors.exception_handler",
    # JSON through otdel.core.jsonsafe: NaN, 2^63, too deep nesting are a 400, not a 500 later.
    "DEFAULT_PARSER_CLASSES": [
        "otdel.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Otdel API",
    "DESCRIPTION": "The public API of Otdel: CRM, administration, channels and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two "direction" fields with different labels: name each choice set rather than let
    # drf-spectacular number them (otdel.api.tests.test_schema fails on any warning).
    "ENUM_NAME_OVERRIDES": {
        "DirectionEnum": "otdel.comms.models.Direction",
        "CallEventDirectionEnum": ["in", "out"],
        "SubjectRequestKindEnum": "otdel.privacy.models.SubjectRequest.Kind",
        "ImportKindEnum": "otdel.transfer.models.ImportKind",
        "SourceEnum": "otdel.crm.models.LeadSource",
        "ChannelEnum": "otdel.crm.models.Channel",
        "ArticleKindEnum": "otdel.kb.models.Article.Kind",
        "ArticleStatusEnum": "otdel.kb.models.Article.Status",
        "ArticleLanguageEnum": "otdel.kb.models.Article.Language",
        "UserLanguageEnum": [("ru", "Русский"), ("en", "English")],
        "StageKindEnum": "otdel.crm.models.Stage.Kind",
        "CustomFieldTypeEnum": "otdel.crm.models.CustomField.Type",
        "CustomFieldEntityEnum": "otdel.crm.models.CustomField.Entity",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Phones, search terms and secrets in logged URLs are masked (otdel/core/logmask.py).
    "filters": {"mask": {"()": "otdel.core.logmask.MaskingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("OTDEL_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# Behind nginx terminating TLS (deploy/nginx/otdel.conf, docs/operations.md): trust its
# X-Forwarded-Proto, send cookies over HTTPS only, ask browsers for HTTPS (HSTS). nginx itself
# redirects port 80, so PBXs on the LAN may still call gunicorn directly over HTTP.
if env_bool("OTDEL_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("OTDEL_HSTS_SECONDS", 31536000))
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Server-sent events (otdel/live, docs/live.md): by default the stream is /live/stream on the same
# origin (nginx sends it to the otdel-live service). `manage.py serve` runs it on the next port and
# sets OTDEL_LIVE_PORT for its web server; OTDEL_LIVE_URL names any other place.
OTDEL_LIVE_PORT = int(os.environ.get("OTDEL_LIVE_PORT", "0") or 0)
OTDEL_LIVE_URL = os.environ.get("OTDEL_LIVE_URL", "").strip()
LIVE_ORIGINS = [
    f"{scheme}://{host}:{OTDEL_LIVE_PORT}"
    for host in ALLOWED_HOSTS
    if OTDEL_LIVE_PORT and host != "*" and not host.startswith(".")
    for scheme in ("http", "https")
] + ([OTDEL_LIVE_URL.split("/live/", 1)[0]] if OTDEL_LIVE_URL.startswith("http") else [])

# Content-Security-Policy (django-csp): scripts, styles, fonts and images from Otdel itself only
# (the UI, the public form page and Swagger use vendored files). Scripts are 'self' and nothing else:
# no inline handlers or <script> blocks in templates, behaviours by data attributes in
# web/static/otdel/otdel.js, data by json_script, htmx with allowEval off (docs/security.md; a test
# fails on an inline handler). Styles keep 'unsafe-inline' for style= attributes, Swagger's and the
# public form's <style> blocks and htmx's indicator style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *LIVE_ORIGINS],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}
