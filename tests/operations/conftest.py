import pytest

from tests.factories import UserFactory


@pytest.fixture
def administrator(db):
    """The administrator alerts are mailed to (an active superuser with an address)."""
    return UserFactory(username="ops.admin", email="ops@example.com", is_superuser=True, is_staff=True)


@pytest.fixture
def quiet_broker(own_redis):
    """An empty broker of the test's own, so no message left by another test backs up the queue."""
    return own_redis
