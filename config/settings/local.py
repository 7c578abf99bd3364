"""The embedded default of `make run`: its own PostgreSQL on loopback (started by scripts/run.sh, data
under var/postgres) and a filesystem broker, so nothing is installed or started by hand."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://rebate@127.0.0.1:54329/rebate")
# Readable console lines on make run; production and the tests write JSON.
os.environ.setdefault("LOG_FORMAT", "console")

from .base import *  # noqa: E402, F403
from .base import BASE_DIR, env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-key-not-for-production")

_broker_dir = BASE_DIR / "var" / "broker"
for _sub in ("out", "processed", "control"):
    (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_broker_dir / "out"),
    "data_folder_out": str(_broker_dir / "out"),
    "data_folder_processed": str(_broker_dir / "processed"),
    "control_folder": str(_broker_dir / "control"),
    "store_processed": False,
}

# make run reads alert mails in its console.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
