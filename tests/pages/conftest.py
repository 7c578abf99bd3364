from tests.pages.fixtures import _clear_sign_in_throttle, book, client_for, signalled_book  # noqa: F401
