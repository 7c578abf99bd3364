"""Every main page of each role in real headless Chromium at 1440 px and at 390 px (a phone): axe-core finds no
serious or critical violation, and no page is wider than its viewport (wide tables scroll in their own box)."""

import pytest

from customers import roles
from outlook.services import outlook_refresh
from pricing_signals.models import MarketSignal
from rebates.models import AccrualRun, ExportJob, ImportBatch, Settlement
from rebates.services import settlement_approve
from tests.browser.conftest import SERIOUS, axe_violations, page_overflow
from tests.factories import PASSWORD, UserFactory
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1440, 390)


def build():
    """The page tests' scenario with one of everything a page shows: a signal, an approved settlement, a
    background export with filters and a rejected import."""
    built = scenario.build(with_september_claim=True)
    outlook_refresh(as_of=scenario.TODAY)  # value and risk, as the nightly outlook leaves them
    admin = UserFactory(username="admin", role=roles.ADMINISTRATOR)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    settlement_approve(settlement=settlement, by=built["finance"])
    job = ExportJob.objects.create(kind="accrual_sheet", requested_by=built["finance"], status="running", progress=40,
                                   rows_total=100, rows_done=40,
                                   filters={"customer": "SEED-001", "month_from": "2026-11", "month_to": "2026-11"})
    batch = ImportBatch.objects.create(source="file", file_name="march-purchases-from-the-erp-export.csv",
                                       created_by=built["finance"], status="rejected", progress=100,
                                       errors=[{"row": 2, "column": "E", "field": "quantity",
                                                "message": "Give a number of units."}])
    return {"claim": built["claims"]["september"].pk, "signal": MarketSignal.objects.get().pk,
            "run": AccrualRun.objects.first().pk, "settlement": settlement.pk, "export": job.pk, "import": batch.pk}


def main_pages(ids, role):
    shared = ["/", "/customers/", "/customers/SEED-001/", "/agreements/", "/agreements/AG-SEED-2026/", "/claims/"]
    return {
        "am.north": [*shared, "/claims/new/", f"/claims/{ids['claim']}/", "/signals/", f"/signals/{ids['signal']}/",
                     "/value-risk/", "/contacts/due/", "/customers/SEED-001/contacts/new/"],
        "pricing": [*shared, "/value-risk/", "/contacts/due/", "/claims/new/", f"/claims/{ids['claim']}/", "/signals/",
                    f"/signals/{ids['signal']}/",
                    f"/signals/{ids['signal']}/close/"],
        "finance": [*shared, "/accruals/runs/", f"/accruals/runs/{ids['run']}/", "/settlements/?status=",
                    f"/settlements/{ids['settlement']}/",
                    f"/settlements/{ids['settlement']}/pay/", "/settlements/pay/?status=", "/exports/",
                    f"/exports/{ids['export']}/",
                    "/imports/", f"/imports/{ids['import']}/", "/signals/", "/months/"],
        # The administrator's pages of the app are every role's; the admin site is Django's own.
        "admin": ["/", "/signals/", "/accruals/runs/", "/settlements/", "/admin/"],
    }[role]


def check_pages(page, base_url, paths):
    problems = []
    for path in paths:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base_url}{path}")
            serious = [v for v in axe_violations(page) if v["impact"] in SERIOUS]
            if serious:
                problems.append((path, width, serious))
            overflow = page_overflow(page)
            if overflow["scroll_width"] > width:
                problems.append((path, width, f"page {overflow['scroll_width']} px wide: {overflow['widest']} "
                                              f"reaches {overflow['right']} px"))
    return problems


def test_the_sign_in_page_passes_axe_and_fits(live_server, browser_page):
    assert check_pages(browser_page, live_server.url, ["/accounts/login/"]) == []


@pytest.mark.parametrize("role", ["am.north", "pricing", "finance", "admin"])
def test_every_main_page_of_the_role_passes_axe_and_fits_at_both_widths(live_server, browser_page, sign_in, role):
    ids = build()
    page = browser_page
    sign_in(page, role, PASSWORD)
    assert check_pages(page, live_server.url, main_pages(ids, role)) == []


def test_a_failed_submit_passes_axe_and_fits(live_server, browser_page, sign_in):
    build()
    page = browser_page
    sign_in(page, "pricing", PASSWORD)
    page.goto(f"{live_server.url}/claims/new/")
    page.click("button:has-text('Save the claim')")
    page.wait_for_selector("#error-summary")
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        serious = [v for v in axe_violations(page) if v["impact"] in SERIOUS]
        overflow = page_overflow(page)
        problems += [serious] if serious else []
        problems += [overflow] if overflow["scroll_width"] > width else []
    assert problems == []
