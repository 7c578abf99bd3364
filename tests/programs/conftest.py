import pytest
from django.core.cache import cache

from tests.programs.book import build_book


@pytest.fixture
def book(db):
    cache.clear()
    yield build_book()
    cache.clear()
