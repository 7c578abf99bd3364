"""A pricing manager's decisions on a signal (match, hold, acknowledge, close) and its evidence record."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import AuditRecord
from pricing_signals.evidence import FORMATS, signal_evidence_file
from pricing_signals.models import MarketSignal, SignalDecision, SignalPriceMatch
from pricing_signals.services import (
    MarketSignalConflict,
    market_signal_acknowledge,
    market_signal_close,
    market_signal_decide,
    price_claim_dismiss,
    signals_detect,
)
from rebates.models import ContractPrice, RebateAgreement
from rebates.selectors import agreement_statement
from tests.excel.readback import csv_formula_cells_in_any_locale, xlsx_formula_texts_without_quote_prefix
from tests.factories import CustomerFactory, ProductFactory, PurchaseLineFactory
from tests.pricing_signals.conftest import YEAR_END, agreement_for

pytestmark = pytest.mark.django_db

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def signal(seed):
    signals_detect(as_of=YEAR_END)
    return MarketSignal.objects.get()


@pytest.fixture
def agreements(product, manager_a):
    found = []
    for code in ("AG-ONE", "AG-TWO"):
        customer = CustomerFactory(account_manager=manager_a)
        agreement = agreement_for(customer, product, net_price="12.10", number=code)
        for month in range(1, 13):
            PurchaseLineFactory(customer=customer, product=product, month=date(2026, month, 1))
        found.append(agreement)
    return found


def match(user, signal, agreements, price="11.40", effective_from=OCTOBER):
    return market_signal_decide(user=user, signal=signal, decision="match", match_price=Decimal(price),
                                effective_from=effective_from, agreements=agreements)


def price_history(agreement):
    return list(ContractPrice.objects.filter(agreement=agreement).order_by("effective_from")
                .values_list("effective_from", "net_price", "reason"))


def test_match_changes_the_price_from_the_date_and_leaves_earlier_months_alone(
        signal, agreements, pricing_manager, finance):
    one, two = agreements
    before = agreement_statement(user=finance, number=one.number, as_of=YEAR_END)

    match(pricing_manager, signal, [one])

    assert price_history(one) == [(date(2026, 1, 1), Decimal("12.1000"), "contract start"),
                                  (OCTOBER, Decimal("11.4000"), f"matched market signal #{signal.pk}")]
    after = agreement_statement(user=finance, number=one.number, as_of=YEAR_END)
    prices = {month.month: month.net_price for month in after.months}
    assert {m: p for m, p in prices.items() if m < OCTOBER} == {
        m.month: m.net_price for m in before.months if m.month < OCTOBER}
    assert set(p for m, p in prices.items() if m < OCTOBER) == {Decimal("12.1000")}
    assert set(p for m, p in prices.items() if m >= OCTOBER) == {Decimal("11.4000")}
    assert price_history(two) == [(date(2026, 1, 1), Decimal("12.1000"), "contract start")]  # not chosen


def test_match_records_the_decision_and_links_each_price_change_to_the_signal(signal, agreements, pricing_manager):
    decided = match(pricing_manager, signal, [a.number for a in agreements])

    decided.refresh_from_db()
    assert (decided.status, decided.decision, decided.decided_by) == ("matched", "match", pricing_manager)
    assert (decided.match_price, decided.match_effective_from) == (Decimal("11.4000"), OCTOBER)
    assert set(decided.matched_agreements.all()) == set(agreements)
    assert {m.contract_price.agreement for m in SignalPriceMatch.objects.filter(signal=signal)} == set(agreements)
    assert all(RebateAgreement.objects.get(pk=a.pk).terms_changed_at > a.terms_changed_at for a in agreements)


def test_every_decision_is_audited(signal, agreements, pricing_manager):
    market_signal_acknowledge(user=pricing_manager, signal=signal)
    match(pricing_manager, signal, agreements[:1])
    market_signal_close(user=pricing_manager, signal=signal)

    actions = list(AuditRecord.objects.filter(target_type="pricing_signals.marketsignal", target_id=str(signal.pk))
                   .order_by("pk").values_list("action", "actor"))
    assert actions == [("market_signal.acknowledge", pricing_manager.pk), ("market_signal.match", pricing_manager.pk),
                       ("market_signal.close", pricing_manager.pk)]
    assert AuditRecord.objects.filter(action="contract_price.change", target_id=str(agreements[0].pk)).count() == 1


def test_hold_needs_a_reason_and_keeps_prices(signal, agreements, pricing_manager):
    with pytest.raises(ValidationError) as excinfo:
        market_signal_decide(user=pricing_manager, signal=signal, decision="hold", reason="  ")
    assert "reason" in excinfo.value.message_dict

    held = market_signal_decide(user=pricing_manager, signal=signal, decision="hold",
                                reason="Only three small customers; watch for a month.")
    assert (held.status, held.decision, held.decision_reason) == ("held", "hold",
                                                                  "Only three small customers; watch for a month.")
    assert ContractPrice.objects.filter(reason__startswith="matched").count() == 0


def test_a_later_decision_supersedes_the_one_in_force_and_the_history_is_kept(signal, agreements, pricing_manager):
    one, two = agreements
    market_signal_decide(user=pricing_manager, signal=signal, decision="hold", reason="watching")
    match(pricing_manager, signal, [one])
    match(pricing_manager, signal, [two], price="11.60", effective_from=date(2026, 11, 1))
    market_signal_decide(user=pricing_manager, signal=signal, decision="hold", reason="changed my mind")

    history = list(SignalDecision.objects.filter(signal=signal).order_by("pk"))
    assert [(d.decision, d.match_price, d.reason) for d in history] == [
        ("hold", None, "watching"), ("match", Decimal("11.4000"), ""), ("match", Decimal("11.6000"), ""),
        ("hold", None, "changed my mind")]
    assert [d.superseded_by_id for d in history] == [history[1].pk, history[2].pk, history[3].pk, None]
    assert [d.superseded_at is None for d in history] == [False, False, False, True]
    assert [list(d.agreements.all()) for d in history] == [[], [one], [two], []]
    signal.refresh_from_db()
    assert (signal.status, signal.decision, signal.decision_reason) == ("held", "hold", "changed my mind")
    assert (signal.match_price, list(signal.matched_agreements.all())) == (None, [])
    # The prices each match wrote stay in the agreements' history, each linked to its decision.
    assert price_history(one)[-1] == (OCTOBER, Decimal("11.4000"), f"matched market signal #{signal.pk}")
    assert price_history(two)[-1] == (date(2026, 11, 1), Decimal("11.6000"), f"matched market signal #{signal.pk}")
    assert {(m.contract_price.agreement, m.decision) for m in SignalPriceMatch.objects.filter(signal=signal)} == {
        (one, history[1]), (two, history[2])}


def test_match_refuses_agreements_that_are_not_active_on_the_product(signal, agreements, pricing_manager, product):
    elsewhere = agreement_for(CustomerFactory(), ProductFactory(), number="AG-ELSEWHERE")
    ended = agreement_for(CustomerFactory(), product, number="AG-ENDED", status="terminated",
                          terminated_on=date(2026, 6, 30))

    with pytest.raises(ValidationError) as excinfo:
        match(pricing_manager, signal, [agreements[0], elsewhere, ended, "AG-NONE"])

    assert "AG-ELSEWHERE, AG-ENDED, AG-NONE" in excinfo.value.message_dict["agreements"][0]
    assert ContractPrice.objects.filter(reason__startswith="matched").count() == 0
    assert MarketSignal.objects.get().status == "open"


@pytest.mark.parametrize("effective_from, message", [
    (date(2026, 10, 15), "first of a month"),
    (date(2027, 2, 1), "outside"),
    (date(2026, 1, 1), "already has a price change"),
])
def test_match_refuses_a_date_the_price_cannot_change_on_and_changes_nothing(
        signal, agreements, pricing_manager, effective_from, message):
    with pytest.raises(ValidationError) as excinfo:
        match(pricing_manager, signal, agreements, effective_from=effective_from)

    assert message in " ".join(excinfo.value.messages)
    assert ContractPrice.objects.count() == 2 and SignalPriceMatch.objects.count() == 0
    assert MarketSignal.objects.get().status == "open"


@pytest.mark.parametrize("who", ["manager_a", "finance"])
def test_only_a_pricing_manager_decides(signal, agreements, who, request):
    user = request.getfixturevalue(who)
    for act in (lambda: match(user, signal, agreements),
                lambda: market_signal_acknowledge(user=user, signal=signal),
                lambda: market_signal_close(user=user, signal=signal)):
        with pytest.raises(PermissionDenied):
            act()
    assert MarketSignal.objects.get().status == "open"


def test_acknowledge_then_close_and_nothing_after_close(signal, agreements, pricing_manager):
    assert market_signal_acknowledge(user=pricing_manager, signal=signal).status == "acknowledged"
    assert market_signal_acknowledge(user=pricing_manager, signal=signal).status == "acknowledged"  # again: same
    assert market_signal_close(user=pricing_manager, signal=signal).status == "closed"

    with pytest.raises(MarketSignalConflict):
        market_signal_acknowledge(user=pricing_manager, signal=signal)
    with pytest.raises(MarketSignalConflict):
        match(pricing_manager, signal, agreements)


def test_a_dismissed_claim_leaves_detection_and_its_signal_goes(seed, signal, pricing_manager):
    price_claim_dismiss(user=pricing_manager, claim=seed["claims"]["echo_two"], reason="Quote was for seconds.",
                        as_of=YEAR_END)

    assert MarketSignal.objects.count() == 0
    assert seed["claims"]["echo_one"].__class__.objects.get(pk=seed["claims"]["echo_one"].pk).status == (
        "unsubstantiated")


# --- evidence record -----------------------------------------------------------------------------


def csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_evidence_record_lists_claims_decision_price_changes_and_history(signal, seed, agreements,
                                                                            pricing_manager):
    match(pricing_manager, signal, agreements[:1])

    name, content_type, content = signal_evidence_file(user=pricing_manager, signal=signal)

    assert name == f"market-signal-{signal.pk}-evidence.csv" and content_type.startswith("text/csv")
    rows = csv_rows(content)
    fields = {row[0]: row[1:] for row in rows if row}
    assert fields["Decision"] == ["Match"] and fields["Decided by"] == ["Priya Raman (pricing)"]
    assert fields["Window"] == ["2026-09-08", "2026-09-22"]
    assert fields["Matched agreements"] == ["AG-ONE"]
    claims = [row for row in rows if row and row[0].startswith("2026-09")]
    assert [(row[0], row[1], row[4], row[5]) for row in claims] == [
        ("2026-09-08", "SEED-001", "11.4000", "Call"),
        ("2026-09-15", "C-1002", "11.4500", "Call"),
        ("2026-09-22", "C-1003", "11.3800", "Call"),
    ]
    assert ["AG-ONE", agreements[0].customer.code, "FAS-101", "11.4000", "2026-10-01",
            f"matched market signal #{signal.pk}"] == next(row for row in rows if row and row[0] == "AG-ONE")[:6]
    assert any(row[2:3] == ["market_signal.match"] for row in rows if len(row) > 2)


def test_an_account_manager_gets_only_their_customers_claims_in_the_record(signal, manager_b):
    rows = csv_rows(signal_evidence_file(user=manager_b, signal=signal)[2])

    codes = [row[1] for row in rows if row and row[0].startswith("2026-09")]
    assert codes == ["C-1003"]
    assert ["Claims left out", "2", "of customers you do not manage"] in rows


TRIGGERS = ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd")


def test_no_text_in_the_csv_record_can_start_a_formula(seed, signal, pricing_manager):
    for i, note in enumerate(TRIGGERS):
        claim = list(signal.claims.order_by("pk"))[i % 3]
        claim.note = note
        claim.save(update_fields=["note"])
    seed["customer"].name = "=cmd|' /C calc'!A0"
    seed["customer"].save()

    rows = csv_rows(signal_evidence_file(user=pricing_manager, signal=signal)[2])

    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@", "\t", "\r"))]
    assert not [cell for cell in cells if cell.startswith("-") and not _number(cell)]
    assert "'=cmd|' /C calc'!A0" in cells


def _number(cell):
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


# note -> the note's cell as written in the .csv (quoted, a single quote wherever a formula would start).
LOCALE_NOTES = {
    "Acme;=1+2;x": "\"Acme;'=1+2;x\"",
    "\uff1d1+2": "'\uff1d1+2",
    " =1+2": "' =1+2",
    "\t=1": "\"'\t'=1\"",
    "-2+3": "'-2+3",
    "met them, -5% off | @once": "\"met them,' -5% off |' @once\"",
}


@pytest.mark.parametrize("note", LOCALE_NOTES)
def test_the_evidence_record_quotes_and_neutralises_notes_in_every_locale(seed, signal, pricing_manager, note):
    claim = signal.claims.order_by("pk").first()
    claim.note = note
    claim.save(update_fields=["note"])

    content = signal_evidence_file(user=pricing_manager, signal=signal)[2]
    assert csv_formula_cells_in_any_locale(content) == []
    assert f",{LOCALE_NOTES[note]}," in content.decode("utf-8-sig")
    workbook = signal_evidence_file(user=pricing_manager, signal=signal, file_format="xlsx")[2]
    assert xlsx_formula_texts_without_quote_prefix(workbook) == []
    cells = [c.value for row in openpyxl.load_workbook(io.BytesIO(workbook)).active.iter_rows() for c in row]
    assert note in cells


def test_the_xlsx_record_holds_no_formula(seed, signal, pricing_manager):
    claim = signal.claims.order_by("pk").first()
    claim.note = "=1+1"
    claim.save(update_fields=["note"])

    name, _, content = signal_evidence_file(user=pricing_manager, signal=signal, file_format="xlsx")

    assert name.endswith(".xlsx") and "xlsx" in FORMATS
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell for cell in values if cell.data_type == "f"]
    assert "=1+1" in [cell.value for cell in values]
    assert Decimal(str(next(c for c in values if c.value == "Median claimed unit price").offset(0, 1).value)) == (
        Decimal("11.4"))


def test_a_user_without_the_view_permission_gets_no_record(signal):
    from tests.factories import UserFactory

    with pytest.raises(PermissionDenied):
        signal_evidence_file(user=UserFactory(), signal=signal)


def test_another_managers_matched_agreements_and_prices_stay_out_of_the_record_and_the_api(
        signal, agreements, pricing_manager, manager_b):
    from rest_framework.test import APIClient

    match(pricing_manager, signal, agreements)  # both agreements are manager A's customers
    content = signal_evidence_file(user=manager_b, signal=signal)[2].decode("utf-8-sig")
    for secret in ("AG-ONE", "AG-TWO", agreements[0].customer.code, agreements[1].customer.code):
        assert secret not in content
    fields = {row[0]: row[1:] for row in csv_rows(content.encode("utf-8-sig")) if row}
    assert fields["Matched agreements"] == [""]

    client = APIClient()
    client.force_authenticate(manager_b)
    answer = client.get(f"/api/v1/market-signals/{signal.pk}/")
    assert answer.status_code == 200 and answer.json()["matched_agreements"] == []
    listed = client.get("/api/v1/market-signals/").json()["results"]
    assert [s["matched_agreements"] for s in listed] == [[]]
    client.force_authenticate(pricing_manager)
    assert client.get(f"/api/v1/market-signals/{signal.pk}/").json()["matched_agreements"] == ["AG-ONE", "AG-TWO"]
