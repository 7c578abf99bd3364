"""The programs' pages in real headless Chromium at 1440 px and at 390 px: axe-core finds no serious or critical
violation and no page is wider than its viewport, for the pricing manager (effectiveness, the what-if form, a
finished and a running what-if) and an account manager (effectiveness over their own customers)."""

import datetime
from decimal import Decimal

import pytest

from programs.models import WhatIfJob
from programs.selectors import Period
from programs.services import whatif_start
from programs.whatif import Draft
from tests.browser.conftest import SERIOUS, axe_violations
from tests.browser.test_accessibility import check_pages
from tests.factories import PASSWORD
from tests.programs.book import build_book

pytestmark = pytest.mark.django_db(transaction=True)
Q1 = "?period_from=2026-01&period_to=2026-03"


def test_the_programs_pages_pass_axe_and_fit(live_server, browser_page, sign_in):
    book = build_book()
    done = whatif_start(user=book["pricing"], program=book["program"],
                        period=Period(datetime.date(2026, 1, 1), datetime.date(2026, 3, 1)),
                        drafts=[Draft(kind="per_unit", rate=Decimal("1")), Draft(kind="percent", rate=Decimal("2"))])
    running = WhatIfJob.objects.create(program=book["program"], requested_by=book["pricing"], status="running",
                                       progress=40, period_from=datetime.date(2026, 1, 1),
                                       period_to=datetime.date(2026, 3, 1), drafts=done.drafts)
    page = browser_page
    sign_in(page, "pricing.p", PASSWORD)
    assert check_pages(page, live_server.url, [
        "/programs/", f"/programs/widgets-2026/{Q1}", "/programs/widgets-2026/what-if/", f"/what-ifs/{done.pk}/",
        f"/what-ifs/{running.pk}/"]) == []
    page.goto(f"{live_server.url}/programs/widgets-2026/what-if/")
    page.fill("#id_draft1-rate", "")  # a per-unit rule with no rate
    page.click("button:has-text('Replay')")
    page.wait_for_selector("#error-summary")
    assert [v for v in axe_violations(page) if v["impact"] in SERIOUS] == []
    page.context.clear_cookies()
    sign_in(page, "am.one", PASSWORD)
    assert check_pages(page, live_server.url, ["/programs/", f"/programs/widgets-2026/{Q1}"]) == []


def test_the_segment_wide_terms_page_passes_axe_and_fits(live_server, browser_page, sign_in):
    from customers.models import Segment
    from rebates.models import ProductLine
    from rebates.services.catalog import agreement_update
    from rebates.services.enrollment import program_enroll, program_template_set

    book = build_book()
    program_template_set(by=None, program=book["program"], start_month=datetime.date(2026, 1, 1),
                         end_month=datetime.date(2026, 12, 1),
                         product_lines=[ProductLine.objects.get(code="fasteners")],
                         rule={"kind": "per_unit", "rate_type": "per_unit", "rate": Decimal("0.25")},
                         target_segments=[Segment.objects.get(code="contractors")])
    done = program_enroll(program=book["program"], as_of=datetime.date(2025, 12, 20), by=None)
    agreement_update(by=None, agreement=done.enrolled[0], rule={"kind": "per_unit", "rate_type": "per_unit",
                                                                "rate": Decimal("0.40")})
    page = browser_page
    sign_in(page, "pricing.p", PASSWORD)
    assert check_pages(page, live_server.url, ["/programs/widgets-2026/enrollment/"]) == []
    page.goto(f"{live_server.url}/programs/widgets-2026/enrollment/")
    page.fill("#id_change-from_month", "soon")
    page.click("button:has-text('Change from that month')")
    page.wait_for_selector("#error-summary")
    assert [v for v in axe_violations(page) if v["impact"] in SERIOUS] == []
    page.context.clear_cookies()
    sign_in(page, "am.one", PASSWORD)
    assert check_pages(page, live_server.url, ["/programs/widgets-2026/enrollment/"]) == []
