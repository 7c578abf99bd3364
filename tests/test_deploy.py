"""Production settings pass Django's deployment checks, and session writes need a CSRF token (R19)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    # Only the browser tests may relax Django's async safety; a deployment never does.
    dropped = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_on_production_settings_gives_no_warning():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="rebates.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "rebates.example.com"}
    result = run_manage("check", **env, SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_sign_in_post_without_a_csrf_token_is_refused():
    UserFactory(username="finance-clerk")
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "finance-clerk", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_sign_out_post_without_a_csrf_token_is_refused():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("logout")).status_code == 403
