"""Settings shared by every environment; everything that differs is read from the environment."""

import ipaddress
from decimal import Decimal
from pathlib import Path

import environ

from operations.log_format import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "customers",
    "rebates",
    "programs",
    "pricing_signals",
    "pages",
    "outlook",
    "operations",
]

MIDDLEWARE = [
    # First: one log line per request, with its request id, however the request ends (operations/middleware.py).
    "operations.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL in a path or query: 400; an API body over API_MAX_BODY_BYTES: 413, never read whole.
    "config.middleware.RequestChecksMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL everywhere (development, tests, production): DATABASE_URL names it; local.py gives make run's.
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Failed sign-ins (app and admin) allowed per account in SIGN_IN_WINDOW_SECONDS, and per address: higher, so
# one address cannot lock other users out, yet a spray over many accounts is slowed (customers/sign_in.py).
SIGN_IN_MAX_ATTEMPTS = env.int("SIGN_IN_MAX_ATTEMPTS", default=5)
SIGN_IN_ADDRESS_MAX_ATTEMPTS = env.int("SIGN_IN_ADDRESS_MAX_ATTEMPTS", default=50)
SIGN_IN_WINDOW_SECONDS = env.int("SIGN_IN_WINDOW_SECONDS", default=300)

# The nightly run books this many agreements per chunk: one transaction, one task, any worker.
ACCRUAL_CHUNK_SIZE = env.int("ACCRUAL_CHUNK_SIZE", default=500)
# A running run none of whose chunks is being booked (no chunk row locked) and none finished for this long
# lost its worker: the sweeper queues its chunks again, a new run marks it failed.
ACCRUAL_RUN_STALE_SECONDS = env.int("ACCRUAL_RUN_STALE_SECONDS", default=30)
# Work saved while the broker was away (a queued run, an upload, an export, a claim to check) that has waited
# this long with the broker's queue empty lost its message: the sweeper queues it again.
QUEUED_WORK_REQUEUE_SECONDS = env.int("QUEUED_WORK_REQUEUE_SECONDS", default=60)
# The nightly check recomputes this many agreements picked at random, books nothing and reports differences.
ACCRUAL_CHECK_SAMPLE = env.int("ACCRUAL_CHECK_SAMPLE", default=200)
# Excel: exports up to this many rows answer at once (larger ones run in the background); purchase files
# hold at most this many lines.
EXCEL_EXPORT_INLINE_ROWS = env.int("EXCEL_EXPORT_INLINE_ROWS", default=5000)
PURCHASE_IMPORT_MAX_ROWS = env.int("PURCHASE_IMPORT_MAX_ROWS", default=1_000_000)
# A match's preview warns on each agreement whose price of the product would fall by more than this percent.
MATCH_DROP_WARNING_PERCENT = Decimal(env("MATCH_DROP_WARNING_PERCENT", default="20"))
# A settlement paying more than this needs two approvals by two different people before it is paid, and
# neither approver may pay it (docs/settlements.md).
SETTLEMENT_SECOND_APPROVAL_ABOVE = Decimal(env("SETTLEMENT_SECOND_APPROVAL_ABOVE", default="10000.00"))
# The nightly close of a large book runs in this many parts side by side (each its own transaction and
# connection), each of at least SETTLEMENT_CLOSE_PART_MIN agreements (rebates.services.settlement).
SETTLEMENT_CLOSE_PARTS = env.int("SETTLEMENT_CLOSE_PARTS", default=2)
SETTLEMENT_CLOSE_PART_MIN = env.int("SETTLEMENT_CLOSE_PART_MIN", default=5000)

# Currencies (docs/currencies.md): a customer's currency when none is given, and the currency finance reports
# (the GL journal) show beside each agreement's own. ISO 4217 codes.
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
REPORTING_CURRENCY = env("REPORTING_CURRENCY", default=DEFAULT_CURRENCY)

# The most one API request body may hold (bytes): a batch of 10,000 purchase lines with every field at its
# longest, pretty-printed, is about 3.7 MiB. Larger bodies answer 413 before they are read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=8 * 1024 * 1024)

REDIS_URL = env("REDIS_URL", default="")
# Shared cache (API and sign-in throttling) in Redis when there is one; memory otherwise. Short socket
# timeouts: a Redis that is away costs a request a second at most, and the throttles then count in the
# process (config/shared_cache.py).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each API view names the permission each action needs (config/api/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.ApiAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["config.api.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.Pages",
    "PAGE_SIZE": 100,
    "COERCE_DECIMAL_TO_STRING": True,
    # JSON numbers are read as Decimals, never floats.
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.TokenRateThrottle"],
    # Requests per token-authenticated user ("1200/min", "50000/hour").
    "DEFAULT_THROTTLE_RATES": {"token": env("API_THROTTLE_RATE", default="1200/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Rebate desk API",
    "DESCRIPTION": "Customers, agreements, purchases, accruals, settlements and market price signals.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components, so read-only fields never appear as inputs.
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "CustomerStatusEnum": "customers.models.Customer.Status",
        "AgreementStatusEnum": "rebates.models.RebateAgreement.Status",
        "AgreementStatusSentEnum": [("draft", "Draft"), ("active", "Active")],
        "AccrualRunStatusEnum": "rebates.models.AccrualRun.Status",
        "SettlementStatusEnum": "rebates.models.Settlement.Status",
        "ExportJobStatusEnum": "rebates.models.ExportJob.Status",
        "PriceClaimStatusEnum": "pricing_signals.models.PriceClaim.Status",
        "MarketSignalStatusEnum": "pricing_signals.models.MarketSignal.Status",
        "ValueTierEnum": "customers.models.Customer.ValueTier",
        "RiskLevelEnum": "customers.models.Customer.RiskLevel",
        "ContactKindEnum": "customers.models.Contact.Kind",
    },
}

# Value and risk (outlook.valuation; docs/outlook.md). Value tiers are Pareto classes of the last 12 months'
# net purchases: A = the customers making the first A_SHARE of them, B the next, C the rest. Risk points per
# factor, and the points at which a customer is medium or high risk.
OUTLOOK_VALUE_TIERS = {"A_SHARE": "0.80", "B_SHARE": "0.95"}
OUTLOOK_RISK = {
    "FALLING_MIN_PERCENT": "10",  # the last 12 months below the 12 before by at least this much
    "FALLING_STEEP_PERCENT": "25",
    "FALLING_POINTS": 15,
    "FALLING_STEEP_POINTS": 30,
    "CLAIM_DAYS": 90,  # claims below net-net reported in this many days before the as-of date
    "CLAIM_POINTS": 15,  # per claim, up to CLAIM_MAX_POINTS
    "CLAIM_MAX_POINTS": 30,
    "SIGNAL_POINTS": 10,  # per open signal the customer is exposed to, up to SIGNAL_MAX_POINTS
    "SIGNAL_MAX_POINTS": 20,
    "AT_STAKE_PERCENT": "1",  # unpaid rebate below this share of the year's purchases: cheap to leave
    "AT_STAKE_POINTS": 15,
    "TERM_DAYS": 90,  # an active agreement's term ends within this many days
    "TERM_POINTS": 20,
    "MEDIUM_POINTS": 20,
    "HIGH_POINTS": 40,
}
# A contact is listed as due this many days before its date comes.
OUTLOOK_CONTACT_DUE_AHEAD_DAYS = 7

# Celery: acks late and reject on worker loss so a killed worker's task is redelivered; every task is
# idempotent, so a second delivery books nothing new.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Longer than the longest single task (a chunk of ACCRUAL_CHUNK_SIZE agreements, a run's preparation, a
# 1,000,000-row import), so Redis never redelivers a task that is still running; not the length of a whole
# run, whose chunks are tasks of their own. A task lost with a killed worker comes back after this long at
# worst; accrual chunks come back sooner (the sweeper, ACCRUAL_RUN_STALE_SECONDS).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=30 * 60)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule itself (nightly accrual run at 02:00, signal sweep at 03:00) is created by migrations as
# django-celery-beat entries and edited in the admin; a CELERY_BEAT_SCHEDULE here would overwrite those
# edits each time beat starts.
CELERY_BEAT_SCHEDULE = {}

# Celery's workers log through LOGGING below, not a handler of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Logs: one JSON object a line (request id, run id, user id, duration, outcome; docs/operations.md), or
# readable lines with LOG_FORMAT=console (make run's default).
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))

# Operations (docs/operations.md). Alerts go by mail to ADMINS ("Name <address>", comma-separated) and to
# every active superuser with an address, through Django's mail settings.
ADMINS = [("", address.strip()) for address in env.list("ADMINS", default=[]) if address.strip()]
SERVER_EMAIL = DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="rebate-desk@localhost")
EMAIL_SUBJECT_PREFIX = "[Rebate desk] "
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# A queued or running accrual run with no progress for this long raises "Accrual run stale" (the sweeper
# resumes a run that lost its worker within a minute or two, so this means it could not).
OPERATIONS_RUN_STALE_SECONDS = env.int("OPERATIONS_RUN_STALE_SECONDS", default=15 * 60)
# The oldest task waiting in the queue longer than this raises "Queue backed up".
OPERATIONS_QUEUE_WAIT_SECONDS = env.int("OPERATIONS_QUEUE_WAIT_SECONDS", default=5 * 60)
# An export or a file import not finished this long after it was asked for raises "Export/Import stuck".
OPERATIONS_EXPORT_STUCK_SECONDS = env.int("OPERATIONS_EXPORT_STUCK_SECONDS", default=30 * 60)
OPERATIONS_IMPORT_STUCK_SECONDS = env.int("OPERATIONS_IMPORT_STUCK_SECONDS", default=30 * 60)
# /health/ready wants a worker to have run the minute check within this long.
OPERATIONS_WORKER_SEEN_SECONDS = env.int("OPERATIONS_WORKER_SEEN_SECONDS", default=3 * 60)
# /metrics answers requests from these networks, or bearing this token (Authorization: Bearer ...); others 403.
METRICS_ALLOWED_NETWORKS = [network.strip() for network in env.list("METRICS_ALLOWED_NETWORKS",
                                                                     default=["127.0.0.1/32", "::1/128"])
                            if network.strip()]
for _network in METRICS_ALLOWED_NETWORKS:
    ipaddress.ip_network(_network, strict=False)  # a mistyped network stops the start, not each scrape
METRICS_TOKEN = env("METRICS_TOKEN", default="")
