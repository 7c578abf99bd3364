"""Every page, found by walking the URL configuration, asked by account manager A for manager B's
objects: 404 for anything that hangs off B's customers, and never a row of B's in any answer (R15); a new
page is covered as soon as it is routed, since an unknown one fails the walk."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from pricing_signals.models import MarketSignal
from programs.models import WhatIfJob
from rebates.models import AccrualRun, ExportJob, ImportBatch, RebateAgreement, Settlement
from tests.factories import PriceClaimFactory
from tests.pages.scenario import MONTHS_2026

pytestmark = pytest.mark.django_db

SKIPPED_PREFIXES = ("api/", "admin/", "accounts/", "static/", "media/")
# What each page's URL arguments name, and how A asking for B's object must be answered. "own": the object
# hangs off a customer, so B's is not found (404). "market": signals are market-level facts every role
# sees, their claims filtered by customer. "mine": runs are the desk's, not a customer's. "requester": B's
# exports and imports (A may not export or import at all: 403).
PAGES = {
    "dashboard": ("none", None),
    "customer-list": ("none", None),
    "agreement-list": ("none", None),
    "claim-list": ("none", None),
    "claim-evidence": ("claim", "own"),
    "customer-detail": ("customer", "own"),
    "agreement-detail": ("agreement", "own"),
    "agreement-sheet": ("agreement", "own"),
    "agreement-terminate": ("agreement", "own"),
    "claim-new": ("none", None),
    "claim-detail": ("claim", "own"),
    "signals": ("none", None),
    "signal-detail": ("signal", "market"),
    "signal-evidence": ("signal", "market"),
    "signal-move": ("signal_action", "market"),
    "accrual-runs": ("none", None),
    "accrual-run-detail": ("run", "desk"),
    "accrual-run-progress": ("run", "desk"),
    "settlements": ("none", None),
    "settlement-interim": ("none", None),
    "settlements-approve": ("none", None),
    "settlements-pay": ("none", None),
    "settlement-detail": ("settlement", "own"),
    "settlement-approve": ("settlement", "own"),
    "settlement-pay": ("settlement", "own"),
    "settlement-statement": ("settlement", "own"),
    "settlement-statement-pdf": ("settlement", "own"),
    "exports": ("none", None),
    "export-detail": ("export", "requester"),
    "export-progress": ("export", "requester"),
    "export-file": ("export", "requester"),
    "imports": ("none", None),
    "import-template": ("format", "requester"),
    "import-detail": ("import", "requester"),
    "import-progress": ("import", "requester"),
    "watchlist": ("none", None),
    "forecasts": ("none", None),
    "forecast-accuracy-sheet": ("none", None),
    "forecast-agreements-sheet": ("none", None),
    "journal": ("none", None),
    "aged-liability": ("none", None),
    "months": ("none", None),
    # Rates are the business's; the held lines listed beside them are the reader's customers' only.
    "exchange-rates": ("none", None),
    "value-risk": ("none", None),
    "value-risk-sheet": ("none", None),
    "contacts-due": ("none", None),
    "contacts-due-sheet": ("none", None),
    "contact-new": ("customer", "own"),
    # Programs are not a customer's: every reader sees each one, its figures over their own customers only.
    "programs": ("none", None),
    "program-effectiveness": ("program", "market"),
    "program-effectiveness-sheet": ("program", "market"),
    "whatif-new": ("program", "market"),
    # A program's segment-wide terms: its enrolled agreements over the reader's own customers only.
    "program-enrollment": ("program", "market"),
    "program-enroll": ("program", "market"),
    "program-template-change": ("program", "market"),
    "whatif-detail": ("whatif", "requester"),
    "whatif-progress": ("whatif", "requester"),
    "whatif-sheet": ("whatif", "requester"),
    # Operations: health answers with no data, metrics with counts and ids only, the page is administrators'.
    "health-live": ("none", None),
    "health-ready": ("none", None),
    "metrics": ("none", None),
    "operations": ("none", None),
}


def page_names():
    names = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and not (prefix + str(pattern.pattern)).startswith(SKIPPED_PREFIXES):
                names.append(pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_page_is_in_the_access_table():
    names = page_names()
    assert None not in names, "every page has a name"
    assert sorted(set(names)) == sorted(PAGES), "a page was added or removed: say how it is reached in PAGES"


@pytest.fixture
def theirs(signalled_scenario):
    scenario = signalled_scenario
    other = scenario["other_am"]
    claim = PriceClaimFactory(customer=scenario["theirs"], product=scenario["product"], reported_by=other)
    settlement = Settlement.objects.filter(agreement__customer__account_manager=other).first()
    if settlement is None:
        settlement = Settlement.objects.create(agreement=scenario["agreements"]["theirs"], interim=True,
                                               period_start=MONTHS_2026[0],
                                               period_end=MONTHS_2026[2])
    return {
        "customer": {"code": scenario["theirs"].code},
        "agreement": {"number": scenario["agreements"]["theirs"].number},
        "claim": {"pk": claim.pk},
        "signal": {"pk": MarketSignal.objects.get().pk},
        "signal_action": {"pk": MarketSignal.objects.get().pk, "action": "close"},
        "run": {"pk": AccrualRun.objects.get().pk},
        "settlement": {"pk": settlement.pk},
        "export": {"pk": ExportJob.objects.create(kind="accrual_sheet", requested_by=other).pk},
        "import": {"pk": ImportBatch.objects.create(source="file", created_by=other).pk},
        "format": {"format": "xlsx"},
        "program": {"code": scenario["agreements"]["theirs"].program.code},
        "whatif": {"pk": WhatIfJob.objects.create(program=scenario["agreements"]["theirs"].program, requested_by=other,
                                                  period_from=MONTHS_2026[0], period_to=MONTHS_2026[2]).pk},
        "none": {},
    }


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_manager_asking_for_another_managers_objects_gets_nothing(signalled_scenario, theirs, client, name, method):
    argument, reach = PAGES[name]
    client.force_login(signalled_scenario["am"])
    url = reverse(name, kwargs=theirs[argument])
    response = getattr(client, method)(url, {"payment_reference": "X", "paid_on": "2026-11-23", "decision": "hold",
                                             "reason": "probe"})
    if reach == "own":
        assert response.status_code == 404, url
    elif reach == "requester":
        assert response.status_code in (403, 404), url
    body = response.content.decode(errors="replace")
    for foreign in ("Someone Else Ltd", "C-2001", "Riverside Hardware", "C-1003", "AG-C-2001-2026"):
        assert foreign not in body, (url, foreign)
    # Nothing of theirs was changed by the probe.
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN
    assert not Settlement.objects.filter(agreement__customer__account_manager=signalled_scenario["other_am"],
                                         status__in=("approved", "paid")).exists()
    assert RebateAgreement.objects.get(number="AG-C-2001-2026").status == "active"


@pytest.mark.parametrize(("name", "kwargs", "allowed"), [
    ("accrual-runs", {}, {"finance"}),
    ("exports", {}, {"finance"}),
    ("imports", {}, {"finance"}),
    ("exchange-rates", {}, {"finance"}),
    ("settlement-interim", {}, {"finance"}),
    ("settlements-approve", {}, {"finance"}),
    ("settlements-pay", {}, {"finance"}),
    ("agreement-terminate", {"number": "AG-SEED-2026"}, {"finance", "pricing"}),
    ("claim-new", {}, {"am", "pricing"}),
    ("contact-new", {"code": "SEED-001"}, {"am", "pricing"}),
])
@pytest.mark.parametrize("role", ["am", "pricing", "finance"])
def test_role_matrix_for_page_writes(scenario, client, name, kwargs, allowed, role):
    client.force_login(scenario[role])
    response = client.post(reverse(name, kwargs=kwargs), {})
    if role in allowed:
        assert response.status_code in (200, 400), (name, role)  # the form answers: nothing given
    else:
        assert response.status_code == 403, (name, role)


@pytest.mark.parametrize("role", ["am", "finance"])
def test_only_a_pricing_manager_moves_a_signal(signalled_scenario, client, role):
    client.force_login(signalled_scenario[role])
    signal = MarketSignal.objects.get()
    assert client.post(reverse("signal-move", args=[signal.pk, "acknowledge"])).status_code == 403
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN
