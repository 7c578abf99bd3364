"""Test settings: real PostgreSQL and Redis from the environment (`make test` starts both)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="test-key-not-for-production")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
# Tasks run through the real broker; tests that need them inline say so explicitly.
CELERY_TASK_ALWAYS_EAGER = False
# Serve static files straight from the finders, so pages under test load the real stylesheet.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
