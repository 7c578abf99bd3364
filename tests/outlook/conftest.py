from tests.pages.fixtures import _clear_sign_in_throttle, client_for, scenario, signalled_scenario  # noqa: F401
