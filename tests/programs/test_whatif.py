"""What-if: drafted terms replayed by the engine on the actual lines of a past period, nothing booked; at once
for a small program, as a background job with progress for a large one; through the API and the pages."""

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from config import clock
from customers import roles
from programs.models import WhatIfJob
from programs.selectors import Period
from programs.services import WhatIfError, whatif_job_run, whatif_jobs_recover, whatif_start
from programs.whatif import Draft, DraftError, draft_rule, replay
from rebates import engine
from rebates.models import LedgerEntry
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db
D = datetime.date
Q1 = Period(D(2026, 1, 1), D(2026, 3, 1))
DRAFTS = [Draft(kind="per_unit", rate=Decimal("0.30")), Draft(kind="percent", rate=Decimal("2")),
          Draft(kind="per_unit", rate=Decimal("1.00"), minimum=Decimal("150"), cap=Decimal("100.00"))]
REQUEST = {"program": "widgets-2026", "period_from": "2026-01", "period_to": "2026-03",
           "drafts": [{"kind": "per_unit", "rate": "0.30"}, {"kind": "percent", "rate": "2"},
                      {"kind": "per_unit", "rate": "1.00", "minimum": "150", "cap": "100.00"}]}


def test_the_replay_is_the_engine_on_the_same_lines():
    terms = engine.AgreementTerms(start_month=D(2026, 1, 1), end_month=D(2026, 12, 1),
                                  rule=engine.RebateRule(kind="per_unit", rate=Decimal("0.25")))
    lines = [engine.PurchaseLine(D(2026, m, 1), Decimal("10"), Decimal("121.00")) for m in range(1, 13)]
    current, drafted = replay(terms, lines, (), [Draft(kind="per_unit", rate=Decimal("0.50"))],
                              period_from=D(2026, 1, 1), period_to=D(2026, 12, 1))
    assert current == Decimal("30.00")  # the seed example: $2.50 a month
    assert drafted == (Decimal("60.00"),)


def test_a_draft_the_engine_refuses_names_its_field():
    with pytest.raises(DraftError) as refused:
        draft_rule(Draft(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive",
                         bands=((Decimal("5"), Decimal("1")),)))
    assert refused.value.field == "bands"


def test_a_small_program_is_replayed_at_once_with_nothing_booked(book):
    entries = LedgerEntry.objects.count()
    job = whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=DRAFTS)
    assert job.status == WhatIfJob.Status.DONE and job.progress == 100
    # Current: A 180 x $0.50, B 120 x $0.50. Drafts: $0.30 a unit; 2% of $1,800 and $1,200; $1.00 a unit
    # from 150 units capped at $100.00 (B's 120 units never reach the minimum).
    assert job.result["current"] == "150.00"
    assert job.result["drafts"] == ["90.00", "60.00", "100.00"]
    by_code = {row["code"]: row for row in job.result["customers"]}
    assert by_code["A"]["drafts"] == ["54.00", "36.00", "100.00"]
    assert by_code["B"]["drafts"] == ["36.00", "24.00", "0.00"]
    assert LedgerEntry.objects.count() == entries


def test_a_large_program_runs_in_the_background_and_twice_is_the_same(book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        job = whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=DRAFTS, inline_limit=1)
    assert job.status == WhatIfJob.Status.QUEUED and len(queued) == 1
    seen = []
    done = whatif_job_run(job_id=job.pk, progress=lambda d, t: seen.append((d, t)))
    assert done.status == WhatIfJob.Status.DONE and seen == [(2, 2)]
    again = whatif_job_run(job_id=job.pk)
    assert again.result == done.result and again.attempts == 1


def test_a_job_whose_worker_was_lost_is_queued_again_then_failed(book, django_capture_on_commit_callbacks):
    job = WhatIfJob.objects.create(program=book["program"], requested_by=book["pricing"], period_from=Q1.start,
                                   period_to=Q1.end, drafts=[DRAFTS[0].as_json()], status=WhatIfJob.Status.RUNNING,
                                   attempts=1, heartbeat_at=clock.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as queued:
        assert whatif_jobs_recover()["requeued"] == 1
    assert len(queued) == 1 and WhatIfJob.objects.get(pk=job.pk).status == WhatIfJob.Status.QUEUED
    assert whatif_job_run(job_id=job.pk).result["current"] == "150.00"
    WhatIfJob.objects.filter(pk=job.pk).update(status=WhatIfJob.Status.RUNNING, attempts=3,
                                               heartbeat_at=clock.now() - timedelta(minutes=5))
    assert whatif_jobs_recover()["failed"] == 1
    assert WhatIfJob.objects.get(pk=job.pk).status == WhatIfJob.Status.FAILED


def test_a_running_job_with_a_live_worker_is_left_alone(book):
    job = WhatIfJob.objects.create(program=book["program"], requested_by=book["pricing"], period_from=Q1.start,
                                   period_to=Q1.end, drafts=[DRAFTS[0].as_json()], status=WhatIfJob.Status.RUNNING,
                                   attempts=1, heartbeat_at=clock.now())
    assert whatif_job_run(job_id=job.pk).status == WhatIfJob.Status.RUNNING


def test_no_draft_or_too_many_is_refused(book):
    with pytest.raises(WhatIfError):
        whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=[])
    with pytest.raises(WhatIfError):
        whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=DRAFTS + DRAFTS[:1])


def test_the_api_replays_a_small_program_at_once(book):
    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", REQUEST, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current"] == "150.00" and body["draft_totals"] == ["90.00", "60.00", "100.00"]
    assert body["drafts"][0] == "$0.30 a unit"
    again = client_for(book["pricing"]).get(f"/api/v1/what-ifs/{body['id']}/")
    assert again.status_code == 200 and again.json()["customers"] == body["customers"]
    # Only pricing managers read what-ifs.
    assert client_for(book["finance"]).get(f"/api/v1/what-ifs/{body['id']}/").status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"drafts": [{"kind": "per_unit"}]}, "drafts.0.rate"),
    ({"drafts": [{"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive",
                  "bands": [{"threshold": "5", "rate": "1"}]}]}, "drafts.0.bands"),
    ({"drafts": []}, "drafts"),
    ({"program": "nope"}, "program"),
    ({"period_to": "2027-06"}, "period_to"),
    ({"drafts": [{"kind": "per_unit", "rate": "-1"}]}, "drafts.0.rate"),
])
def test_bad_input_is_a_400_naming_the_field_with_nothing_stored(book, change, field):
    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", {**REQUEST, **change}, format="json")
    assert response.status_code == 400, response.content
    named = {detail["field"] for detail in response.json()["details"]}
    assert any(name.startswith(field) for name in named), named
    assert not WhatIfJob.objects.exists()


def test_only_pricing_managers_draft(book):
    for user in (book["am_one"], book["finance"], book["erp"]):
        assert client_for(user).post("/api/v1/what-ifs/", REQUEST, format="json").status_code == 403


def test_the_pages_draft_replay_and_show_each_customer(book, client):
    client.force_login(book["pricing"])
    assert client.get(reverse("whatif-new", args=["widgets-2026"])).status_code == 200
    response = client.post(reverse("whatif-new", args=["widgets-2026"]), {
        "period_from": "2026-01", "period_to": "2026-03", "draft1-kind": "per_unit", "draft1-rate": "0.30",
        "draft1-rate_type": "per_unit", "draft2-kind": "", "draft2-rate_type": "per_unit", "draft3-kind": "",
        "draft3-rate_type": "per_unit"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "$150.00" in page and "$90.00" in page and "Customer A (A)" in page and "$0.30 a unit" in page
    job = WhatIfJob.objects.get()
    sheet = client.get(reverse("whatif-sheet", args=[job.pk]))
    assert sheet.status_code == 200 and sheet["Content-Type"].startswith("application/vnd.openxmlformats")
    progress = client.get(reverse("whatif-progress", args=[job.pk])).json()
    assert progress["finished"] and progress["progress"] == 100


def test_the_page_names_a_bad_draft_beside_its_field(book, client):
    client.force_login(book["pricing"])
    response = client.post(reverse("whatif-new", args=["widgets-2026"]), {
        "period_from": "2026-01", "period_to": "2026-03", "draft1-kind": "per_unit", "draft1-rate": "abc",
        "draft1-rate_type": "per_unit", "draft2-rate_type": "per_unit", "draft3-rate_type": "per_unit"})
    assert response.status_code == 400 and not WhatIfJob.objects.exists()


def test_an_account_manager_may_not_draft(book, client):
    client.force_login(book["am_one"])
    assert client.get(reverse("whatif-new", args=["widgets-2026"])).status_code == 403
    assert client.post(reverse("whatif-new", args=["widgets-2026"]), {}).status_code == 403


def test_the_task_delivered_twice_stores_one_answer(book):
    from programs.tasks import whatif_job_execute

    job = WhatIfJob.objects.create(program=book["program"], requested_by=book["pricing"], period_from=Q1.start,
                                   period_to=Q1.end, drafts=[DRAFTS[0].as_json()])
    assert whatif_job_execute.run(job.pk) == "done"
    assert whatif_job_execute.run(job.pk) == "done"
    assert WhatIfJob.objects.get(pk=job.pk).attempts == 1


def test_a_rolled_back_start_queues_nothing(book, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks() as queued:
        with pytest.raises(RuntimeError), transaction.atomic():
            whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=DRAFTS, inline_limit=0)
            raise RuntimeError("the caller's transaction fails")
    assert queued == [] and not WhatIfJob.objects.exists()


def test_the_recovery_runs_from_the_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(task="programs.tasks.whatif_jobs_recover")
    assert entry.enabled and entry.interval.every == 30


def test_the_api_answers_202_for_a_large_program_then_the_job_answers(book, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    monkeypatch.setattr("programs.services.INLINE_AGREEMENTS", 1)
    pricing = client_for(book["pricing"])
    with django_capture_on_commit_callbacks() as queued:
        response = pricing.post("/api/v1/what-ifs/", REQUEST, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["progress"], body["current"], len(queued)) == ("queued", 0, None, 1)
    whatif_job_run(job_id=body["id"])  # what the worker does with the queued message
    done = pricing.get(f"/api/v1/what-ifs/{body['id']}/").json()
    assert (done["status"], done["progress"], done["current"]) == ("done", 100, "150.00")


# Rates, tiers, minimum and cap drafted together, worked by hand on the book (A 180 units, $1,800.00; B 120
# units, $1,200.00): $0.30 a unit is A $54.00, B $36.00; tiers of 1% from 0 and 3% from 150 units, retroactive,
# are A 3% of $1,800.00 = $54.00, B 1% of $1,200.00 = $12.00; 5% from a $1,500.00 minimum capped at $80.00 is A
# $90.00 capped at $80.00, B nothing (its $1,200.00 never reaches the minimum).
THREE_KINDS = [{"kind": "per_unit", "rate": "0.30"},
               {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive",
                "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "150", "rate": "3"}]},
               {"kind": "percent", "rate": "5", "minimum": "1500", "cap": "80.00"}]


def test_the_api_replays_rates_tiers_minimum_and_cap_per_customer_and_in_total_with_nothing_booked(book):
    entries = list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount"))
    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", {**REQUEST, "drafts": THREE_KINDS},
                                                format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current"] == "150.00" and body["draft_totals"] == ["90.00", "66.00", "80.00"]
    by_code = {row["code"]: (row["current"], row["drafts"]) for row in body["customers"]}
    assert by_code == {"A": ("90.00", ["54.00", "54.00", "80.00"]), "B": ("60.00", ["36.00", "12.00", "0.00"])}
    assert list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount")) == entries


def test_the_api_refuses_a_fourth_draft_naming_drafts(book):
    response = client_for(book["pricing"]).post(
        "/api/v1/what-ifs/", {**REQUEST, "drafts": REQUEST["drafts"] + THREE_KINDS[:1]}, format="json")
    assert response.status_code == 400, response.content
    assert "drafts" in {detail["field"] for detail in response.json()["details"]}
    assert not WhatIfJob.objects.exists()


def test_another_pricing_managers_what_if_is_a_404_on_the_api_and_the_pages(book, client):
    from customers import roles
    from tests.factories import UserFactory

    job = whatif_start(user=book["pricing"], program=book["program"], period=Q1, drafts=DRAFTS)
    other = UserFactory(username="pricing.q", role=roles.PRICING_MANAGER)
    assert client_for(other).get(f"/api/v1/what-ifs/{job.pk}/").status_code == 404
    client.force_login(other)
    for name in ("whatif-detail", "whatif-progress", "whatif-sheet"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name


def test_the_pages_draft_three_kinds_and_show_each_customer_and_the_total(book, client):
    client.force_login(book["pricing"])
    response = client.post(reverse("whatif-new", args=["widgets-2026"]), {
        "period_from": "2026-01", "period_to": "2026-03",
        "draft1-kind": "per_unit", "draft1-rate": "0.30", "draft1-rate_type": "per_unit",
        "draft2-kind": "tiered", "draft2-rate_type": "percent", "draft2-bands": "0:1, 150:3",
        "draft2-tier_basis": "quantity", "draft2-tier_method": "retroactive",
        "draft3-kind": "percent", "draft3-rate": "5", "draft3-rate_type": "percent", "draft3-minimum": "1500",
        "draft3-cap": "80.00"})
    assert response.status_code == 302, response.content.decode()
    page = client.get(response["Location"]).content.decode()
    assert "nothing is booked" in page
    rows = {row.split("</td>")[0].split("<td>")[-1]: row for row in page.split("<tr>") if "(A)</td>" in row
            or "(B)</td>" in row}
    for code, figures in (("Customer A (A)", ("$90.00", "$54.00", "$54.00", "$80.00")),
                          ("Customer B (B)", ("$60.00", "$36.00", "$12.00", "$0.00"))):
        cells = [cell.split(">")[-1] for cell in rows[code].split("</td>")[2:6]]
        assert cells == list(figures), (code, cells)
    total = page.split('id="whatif-total"')[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in total.split("</td>")[1:5]] == ["$150.00", "$90.00", "$66.00", "$80.00"]


def test_a_large_program_shows_its_progress_on_the_page_then_the_answer(book, client, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    monkeypatch.setattr("programs.services.INLINE_AGREEMENTS", 1)
    client.force_login(book["pricing"])
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("whatif-new", args=["widgets-2026"]), {
            "period_from": "2026-01", "period_to": "2026-03", "draft1-kind": "per_unit", "draft1-rate": "0.30",
            "draft1-rate_type": "per_unit", "draft2-rate_type": "per_unit", "draft3-rate_type": "per_unit"})
    assert response.status_code == 302 and len(queued) == 1
    job = WhatIfJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' in page and reverse("whatif-progress", args=[job.pk]) in page
    assert 'id="whatif-total"' not in page
    progress = client.get(reverse("whatif-progress", args=[job.pk])).json()
    assert (progress["finished"], progress["progress"], progress["agreements_total"]) == (False, 0, 2)
    assert client.get(reverse("whatif-sheet", args=[job.pk])).status_code == 409  # nothing to download yet
    whatif_job_run(job_id=job.pk)  # what the worker does with the queued message
    progress = client.get(reverse("whatif-progress", args=[job.pk])).json()
    assert (progress["finished"], progress["progress"], progress["agreements_done"]) == (True, 100, 2)
    page = client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' not in page and "$150.00" in page and "$90.00" in page


def test_the_current_terms_of_the_newer_kinds_are_replayed_as_the_nightly_run_computes_them():
    """A program of clearance, product mix, conditional and referral agreements: the what-if's current terms are
    what the engine books for the period (the nightly run's expected ledger), the referral's worked by hand."""
    from rebates.engine.periods import month_of
    from rebates.models import RebateRule
    from rebates.terms import agreement_inputs, expected_ledger
    from tests.factories import (
        AgreementFactory,
        CustomerFactory,
        ProductFactory,
        ProductLineFactory,
        ProgramFactory,
        PurchaseLineFactory,
        UserFactory,
    )

    program = ProgramFactory(code="newer-kinds")
    tools, paint = ProductLineFactory(code="tools"), ProductLineFactory(code="paint")
    regular, paint_can = ProductFactory(product_line=tools), ProductFactory(product_line=paint)
    on_clearance = ProductFactory(product_line=tools, clearance_from=D(2026, 2, 1), clearance_until=D(2026, 3, 1))
    products = [regular, paint_can, on_clearance]
    settings_of = {"clearance": {"clearance_rate": Decimal("3")}, "mix": {"min_product_lines": 2},
                   "condition": {"active_months": 2, "active_window": 3}, "referral": {}}
    agreements = {}
    for kind, extra in settings_of.items():
        agreement = AgreementFactory(number=f"NK-{kind}", customer=CustomerFactory(code=f"C-{kind}"),
                                     program=program, products=products, settlement_frequency="quarterly")
        RebateRule.objects.create(agreement=agreement, kind=kind, rate_type="percent", rate=Decimal("2"), **extra)
        agreements[kind] = agreement
        for month in (1, 2, 3):
            PurchaseLineFactory(customer=agreement.customer, product=regular, month=D(2026, month, 1),
                                quantity=Decimal("10"), unit_price=Decimal("10.00"), amount=Decimal("100.00"))
            PurchaseLineFactory(customer=agreement.customer, product=on_clearance, month=D(2026, month, 1),
                                quantity=Decimal("5"), unit_price=Decimal("10.00"), amount=Decimal("50.00"))
        PurchaseLineFactory(customer=agreement.customer, product=paint_can, month=D(2026, 3, 1),
                            quantity=Decimal("1"), unit_price=Decimal("20.00"), amount=Decimal("20.00"))
    # The referral agreement's customer referred N from February for two months; N buys $1,000.00 a month.
    referred = CustomerFactory(code="N", referred_by=agreements["referral"].customer,
                               referral_from=D(2026, 2, 1), referral_months=2)
    for month in (1, 2, 3, 4):
        PurchaseLineFactory(customer=referred, product=regular, month=D(2026, month, 1), quantity=Decimal("100"),
                            unit_price=Decimal("10.00"), amount=Decimal("1000.00"))
    ids = sorted(a.pk for a in agreements.values())
    expected = expected_ledger(agreement_inputs(ids), as_of=D(2026, 3, 31))
    engine_books = {a.customer.code: sum((m.amount for m in expected[a.pk] if month_of(m.month) >= Q1.start),
                                         Decimal("0.00"))
                    for a in agreements.values()}
    assert engine_books["C-referral"] == Decimal("40.00")  # 2% of N's $1,000.00 in February and March
    assert engine_books["C-clearance"] > Decimal("10.00")  # 2% of $470.00 and 3% more of February's, March's $50
    assert engine_books["C-mix"] == Decimal("9.40")  # two lines by March: 2% of the quarter's $470.00

    job = whatif_start(user=UserFactory(role=roles.PRICING_MANAGER), program=program, period=Q1,
                       drafts=[Draft(kind="percent", rate=Decimal("2"))])
    assert job.status == WhatIfJob.Status.DONE, job.error
    current = {row["code"]: Decimal(row["current"]) for row in job.result["customers"]}
    assert current == engine_books
    # The draft (2% of the agreement's own purchases) earns on none of the newer kinds' extra lines.
    drafted = {row["code"]: row["drafts"][0] for row in job.result["customers"]}
    assert drafted == {code: "9.40" for code in current}


@pytest.mark.parametrize("kind", ["clearance", "mix", "condition", "referral"])
def test_a_draft_of_a_kind_whose_settings_a_draft_cannot_hold_is_a_400_naming_its_kind(book, kind):
    response = client_for(book["pricing"]).post(
        "/api/v1/what-ifs/", {**REQUEST, "drafts": [{"kind": kind, "rate_type": "percent", "rate": "2"}]},
        format="json")
    assert response.status_code == 400, response.content
    assert "drafts.0.kind" in {detail["field"] for detail in response.json()["details"]}


@pytest.mark.today("2026-03-10")
def test_a_period_not_yet_past_is_a_400_naming_period_to_on_the_api_and_the_page(book, client):
    # On 10 March 2026 the last complete month is February: the first quarter has not passed yet.
    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", REQUEST, format="json")
    assert response.status_code == 400, response.content
    assert {detail["field"] for detail in response.json()["details"]} == {"period_to"}
    assert "2026-02" in response.content.decode()
    client.force_login(book["pricing"])
    response = client.post(reverse("whatif-new", args=["widgets-2026"]), {
        "period_from": "2026-01", "period_to": "2026-03", "draft1-kind": "per_unit", "draft1-rate": "0.30",
        "draft1-rate_type": "per_unit", "draft2-rate_type": "per_unit", "draft3-rate_type": "per_unit"})
    assert response.status_code == 400 and "end it by 2026-02" in response.content.decode()
    assert not WhatIfJob.objects.exists()
    # January and February have passed.
    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", {**REQUEST, "period_to": "2026-02"},
                                                format="json")
    assert response.status_code == 201 and response.json()["current"] == "90.00"  # A's 180 units of January


def test_the_what_if_sheet_holds_each_customer_and_the_total_beside_the_current_terms(book, client):
    import io

    from openpyxl import load_workbook

    response = client_for(book["pricing"]).post("/api/v1/what-ifs/", {**REQUEST, "drafts": THREE_KINDS},
                                                format="json")
    client.force_login(book["pricing"])
    sheet = client.get(reverse("whatif-sheet", args=[response.json()["id"]]))
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    header = next(row for row in rows if row and row[0] == "Code")
    assert header[3] == "Current terms" and header[4].startswith("Draft 1: $0.30 a unit")
    figures = {row[0]: [Decimal(str(value)) for value in row[3:7]] for row in rows if row and row[0] in ("A", "B",
                                                                                                        "Total")}
    assert figures == {"A": [Decimal("90"), Decimal("54"), Decimal("54"), Decimal("80")],
                       "B": [Decimal("60"), Decimal("36"), Decimal("12"), Decimal("0")],
                       "Total": [Decimal("150"), Decimal("90"), Decimal("66"), Decimal("80")]}
