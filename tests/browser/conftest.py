"""Browser fixture for the end-to-end tests in tests/browser.

Uses Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) through Playwright's sync API;
Playwright's own browser downloads are not used. Every test here is marked `browser` (registered in
pyproject.toml; deselect with `-m "not browser"`), and a screenshot of the last page state is saved
to artifacts/screenshots/<test name>.png after each test.
"""

import os
import re
import warnings
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in the test thread; without this, Django refuses
# ORM calls from that thread (SynchronousOnlyOperation) in the live server tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT_MS = 15_000
BROWSER_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROWSER_DIR in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _screenshot_path(request) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return request.config.rootpath / "artifacts" / "screenshots" / f"{name}.png"


@pytest.fixture
def browser_page(request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
            # Under TEST_FAKETIME the suite keeps the monotonic clocks real (Python's timed waits need them);
            # Chromium hangs with them real, so it gets them shifted like the wall clock.
            env={name: value for name, value in os.environ.items() if name != "FAKETIME_DONT_FAKE_MONOTONIC"},
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(DEFAULT_TIMEOUT_MS)
            yield page
            try:
                path = _screenshot_path(request)
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=True)
            except Exception as exc:  # a failed screenshot must not hide the test's own result
                warnings.warn(f"browser_page: could not save screenshot: {exc}", stacklevel=1)
            context.close()
        finally:
            browser.close()
            # What the test read while Playwright's loop ran went through connections of that context, which
            # the test database's teardown does not see: closed here, so the database can be dropped.
            from django.db import connections

            connections.close_all()


def save_screenshot(request, page, name):
    """A named screenshot of the whole page in artifacts/screenshots/ (git-ignored), beside the per-test one."""
    path = request.config.rootpath / "artifacts" / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot(request):
    return lambda page, name: save_screenshot(request, page, name)


@pytest.fixture
def celery_worker_thread():
    """A real Celery worker in this process, on the test broker (Redis), so queued work (an accrual run and
    what follows it) is done as in production while the browser watches."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun, worker_ready, worker_shutdown
    from django.db import connections

    from config.celery_app import app

    def close_connections(**kwargs):
        # The worker's thread keeps no connection open, so the test database can be dropped at the end.
        connections.close_all()

    for signal in (task_postrun, worker_ready, worker_shutdown):
        signal.connect(close_connections, weak=False)
    app.control.purge()  # messages queued by earlier tests name rows that are gone
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield
    finally:
        for signal in (task_postrun, worker_ready, worker_shutdown):
            signal.disconnect(close_connections)
        app.control.purge()


@pytest.fixture
def sign_in(live_server):
    def sign_in_as(page, username, password):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Dashboard')")

    return sign_in_as


# axe-core from npm (package.json, package-lock.json; `make test` installs it with scripts/node.sh), injected as a
# local file: the pages are checked with no network.
AXE_SCRIPT = BROWSER_DIR.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it stands: [{"id", "impact", "help", "targets"}]."""
    assert AXE_SCRIPT.is_file(), f"{AXE_SCRIPT} is missing: run `bash scripts/node.sh` (npm ci) first"
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" "))}))""")


def page_overflow(page) -> dict:
    """How wide the page is against its viewport, and the element reaching furthest right (its selector)."""
    return page.evaluate("""() => {
        let widest = null, right = -1;
        for (const element of document.querySelectorAll("body *")) {
            const edge = Math.round(element.getBoundingClientRect().right);
            if (edge > right) { widest = element; right = edge; }
        }
        const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
            (e.classList.length ? "." + [...e.classList].join(".") : "");
        return {scroll_width: document.documentElement.scrollWidth, viewport: window.innerWidth,
                widest: widest ? name(widest) : "", right: right};
    }""")
