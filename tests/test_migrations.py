"""Every model change has its migration committed: makemigrations finds nothing to write for any app."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_app_has_a_model_change_without_its_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
