"""Access to every REST endpoint, found by walking the URL configuration, so a new endpoint is covered
as soon as it is routed: the role matrix of docs/product.md's Users table for every write (R16), and an
account manager asking for another manager's rows by id, by filter and in lists (R15)."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config.api.views import ApiViewMixin
from pricing_signals.models import MarketSignal
from programs.models import WhatIfJob
from rebates.models import AccrualRun, ExportJob, Settlement
from tests.api.conftest import client_for
from tests.factories import LedgerEntryFactory, PerUnitRuleFactory, PriceClaimFactory, PurchaseLineFactory

ROLES = ("account_manager", "pricing_manager", "finance", "erp", "administrator")
ERP_WRITES = {"erp", "administrator"}
ENROLLERS = {"pricing_manager", "erp", "administrator"}

# Who may do each write (docs/product.md's Users table): the ERP sends customers, products, programs,
# agreements and purchase lines; finance runs accruals, approves, pays and exports; account and pricing
# managers log claims; pricing managers decide signals; finance and pricing managers terminate agreements;
# finance drafts interim payments; administrators do everything.
WRITES = {
    ("customers", "create"): ERP_WRITES,
    ("customers", "update"): ERP_WRITES,
    ("customers", "partial_update"): ERP_WRITES,
    # The ERP states buying groups' memberships as it sends customers.
    ("customers", "membership_record"): ERP_WRITES,
    ("products", "create"): ERP_WRITES,
    ("products", "update"): ERP_WRITES,
    ("products", "partial_update"): ERP_WRITES,
    ("programs", "create"): ERP_WRITES,
    ("programs", "update"): ERP_WRITES,
    ("programs", "partial_update"): ERP_WRITES,
    # Segment-wide programs: the ERP sends their template terms, pricing managers run them.
    ("programs", "template"): ENROLLERS,
    ("programs", "template_change"): ENROLLERS,
    ("programs", "enroll"): ENROLLERS,
    ("agreements", "create"): ERP_WRITES,
    ("agreements", "update"): ERP_WRITES,
    ("agreements", "partial_update"): ERP_WRITES,
    ("purchases", "create"): ERP_WRITES,
    ("accrual-runs", "create"): {"finance", "erp", "administrator"},
    ("settlements", "approve"): {"finance", "administrator"},
    ("settlements", "pay"): {"finance", "administrator"},
    ("settlements", "interim"): {"finance", "administrator"},
    ("settlements", "approve_many"): {"finance", "administrator"},
    ("settlements", "pay_many"): {"finance", "administrator"},
    # A customer leaving forfeits its unpaid rebate: finance and pricing (sales) managers say so.
    ("agreements", "terminate"): {"pricing_manager", "finance", "administrator"},
    ("price-claims", "create"): {"account_manager", "pricing_manager", "administrator"},
    # Managers log the contacts they had with their customers.
    ("customers", "contact_log"): {"account_manager", "pricing_manager", "administrator"},
    ("market-signals", "decision"): {"pricing_manager", "administrator"},
    # A match's preview writes nothing, but only those who decide ask for one.
    ("market-signals", "decision_preview"): {"pricing_manager", "administrator"},
    # Drafting alternative terms for a program (replayed, nothing booked) is the pricing manager's.
    ("what-ifs", "create"): {"pricing_manager", "administrator"},
    # Finance closes a month and opens it again.
    ("period-locks", "create"): {"finance", "administrator"},
    ("period-locks", "reopen"): {"finance", "administrator"},
    ("exchange-rates", "create"): {"finance", "administrator"},
}
# What the ERP token reads (docs/product.md's Users table): customers, products, programs, agreements,
# purchase lines, accruals (and the ledger entries they sum), statements, settlements, and the accrual runs it
# starts. Price claims, market signals and the rest answer it 403.
ERP_READS = {"customers", "products", "programs", "agreements", "purchases", "accruals", "ledger-entries",
             "settlements", "accrual-runs"}
# A customer's contacts are its managers' notes, not the ERP's to read.
ERP_REFUSED = {("customers", "contacts")}
# Reads that are themselves a write action of R16 (an export makes a file of the ledger).
GUARDED_READS = {
    ("exports", "get"): {"finance", "administrator"},
    ("export-jobs", "retrieve"): {"finance", "administrator"},
    ("export-jobs", "file"): {"finance", "administrator"},
}


def api_routes():
    """(path template, resource, method, action, view class) for every routed API operation."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    routes = []
    for raw, callback in found:
        if not raw.startswith("api/v1/"):
            continue
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", raw.replace("^", "").replace("$", ""))
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        view = callback.cls
        actions = getattr(callback, "actions", None)
        if actions is None:
            actions = {m: m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        resource = path.split("/")[3]
        for method, action in actions.items():
            routes.append((path, resource, method, action, view))
    return routes


ROUTES = api_routes()


def test_the_walk_finds_every_resource_of_the_contract():
    resources = {route[1] for route in ROUTES}
    assert {"customers", "products", "programs", "agreements", "purchases", "accrual-runs", "accruals",
            "settlements", "price-claims", "market-signals", "exports", "export-jobs", "ledger-entries"} <= resources


@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), ROUTES,
                         ids=[f"{r[2].upper()} {r[0]}" for r in ROUTES])
def test_every_endpoint_names_the_permission_of_each_action(path, resource, method, action, view):
    assert issubclass(view, ApiViewMixin), f"{view.__name__} must build on config.api.views"
    assert action in view.required_permissions, f"{view.__name__} names no permission for {action}"
    if method in ("post", "put", "patch", "delete"):
        assert (resource, action) in WRITES, f"add {resource} {action} to the role matrix (WRITES)"


@pytest.fixture
def world(users, scenario):
    """Each manager's customer with an agreement, a purchase line, ledger entries, a settlement, a claim,
    plus a market signal, an accrual run and an export job."""
    rows = {}
    for side, agreement in (("mine", scenario["my_agreement"]), ("theirs", scenario["their_agreement"])):
        PerUnitRuleFactory(agreement=agreement)
        rows[f"{side}_entry"] = LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, 1, 1),
                                                   amount=Decimal("2.50"))
        rows[f"{side}_line"] = PurchaseLineFactory(erp_line_id=f"LINE-{side}", customer=agreement.customer,
                                                   product=scenario["product"])
        rows[f"{side}_settlement"] = Settlement.objects.create(
            agreement=agreement, period_start=datetime.date(2026, 1, 1), period_end=datetime.date(2026, 12, 1),
            amount=Decimal("2.50"), accrued_total=Decimal("2.50"))
        rows[f"{side}_claim"] = PriceClaimFactory(customer=agreement.customer, product=scenario["product"])
    rows["signal"] = MarketSignal.objects.create(
        product=scenario["product"], window_start=datetime.date(2026, 9, 1), window_end=datetime.date(2026, 9, 20),
        claim_count=3, customer_count=3, median_price=Decimal("11.40"))
    rows["run"] = AccrualRun.objects.create(trigger="api", as_of=datetime.date(2026, 3, 31))
    rows["mine_job"] = ExportJob.objects.create(kind="accrual_sheet", requested_by=users["finance"])
    rows["theirs_job"] = ExportJob.objects.create(kind="accrual_sheet", requested_by=users["other_manager"])
    rows["whatif"] = WhatIfJob.objects.create(program=scenario["my_agreement"].program,
                                              requested_by=users["pricing_manager"],
                                              period_from=datetime.date(2026, 1, 1),
                                              period_to=datetime.date(2026, 3, 1))
    return {**scenario, **rows}


def fill(path, world, side="mine"):
    """The path with its keys filled with one of the account manager's rows (or the other manager's)."""
    keys = {
        "customers": world[side].code,
        "products": world["product"].sku,
        "programs": world["my_agreement"].program.code,
        "agreements": world[f"{'my' if side == 'mine' else 'their'}_agreement"].number,
        "purchases": world[f"{side}_line"].erp_line_id,
        "accrual-runs": world["run"].pk,
        "settlements": world[f"{side}_settlement"].pk,
        "price-claims": world[f"{side}_claim"].pk,
        "market-signals": world["signal"].pk,
        "export-jobs": world[f"{side}_job"].pk,
        "ledger-entries": world[f"{side}_entry"].pk,
        "program-effectiveness": world["my_agreement"].program.code,
        "what-ifs": world["whatif"].pk,
        "period-locks": "2026-01",
    }
    resource = path.split("/")[3]
    return re.sub(r"\{\w+\}", lambda _: str(keys[resource]), path)


WRITE_ROUTES = [route for route in ROUTES if route[2] in ("post", "put", "patch", "delete")]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), WRITE_ROUTES,
                         ids=[f"{r[2].upper()} {r[0]}" for r in WRITE_ROUTES])
def test_every_role_against_every_write(world, users, role, path, resource, method, action, view):
    allowed = role in WRITES[(resource, action)]
    response = getattr(client_for(users[role]), method)(fill(path, world), data=json.dumps({}),
                                                        content_type="application/json")
    if allowed:
        assert response.status_code not in (401, 403), response.content
    else:
        assert response.status_code == 403, (role, path, response.status_code)


GUARDED = [route for route in ROUTES if (route[1], route[3]) in GUARDED_READS]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), GUARDED,
                         ids=[f"{r[2].upper()} {r[0]}" for r in GUARDED])
def test_every_role_against_every_export(world, users, role, path, resource, method, action, view):
    response = client_for(users[role]).get(fill(path, world))
    if role in GUARDED_READS[(resource, action)]:
        assert response.status_code not in (401, 403)
    else:
        assert response.status_code == 403


READS = [route for route in ROUTES if route[2] == "get" and (route[1], route[3]) not in GUARDED_READS]


@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), READS,
                         ids=[f"GET {r[0]}" for r in READS])
def test_the_erp_reads_only_what_the_users_table_gives_it(world, users, path, resource, method, action, view):
    response = client_for(users["erp"]).get(fill(path, world))
    if resource in ERP_READS and (resource, action) not in ERP_REFUSED:
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    else:
        assert response.status_code == 403, (path, response.status_code)


def foreign_marks(world):
    """Text that only the other manager's rows show."""
    return [world["theirs"].code, world["their_agreement"].number, world["theirs_line"].erp_line_id,
            world["theirs"].name]


READ_ROUTES = [route for route in ROUTES if route[2] == "get"]
CUSTOMER_BOUND = {"customers", "agreements", "purchases", "settlements", "price-claims", "export-jobs",
                  "ledger-entries"}


@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), READ_ROUTES,
                         ids=[f"GET {r[0]}" for r in READ_ROUTES])
def test_account_manager_never_sees_another_managers_rows(world, users, path, resource, method, action, view):
    manager = client_for(users["account_manager"])
    marks = foreign_marks(world)
    if "{" in path:
        # By id: the other manager's row is not found; a shared row shows none of theirs.
        foreign = resource in CUSTOMER_BOUND
        response = manager.get(fill(path, world, side="theirs" if foreign else "mine"))
        if foreign:
            assert response.status_code in (403, 404), (path, response.status_code)
        else:
            assert response.status_code in (200, 403), (path, response.status_code)
        texts = [response.content.decode(errors="replace")]
    else:
        # In lists, and filtered by the other manager's customer or agreement: none of their rows.
        texts = []
        for query in ({}, {"customer": world["theirs"].code}, {"agreement": world["their_agreement"].number},
                      {"page_size": 1000}):
            response = manager.get(path, query)
            assert response.status_code in (200, 400, 403), (path, query, response.status_code)
            texts.append(response.content.decode(errors="replace"))
    for text in texts:
        for mark in marks:
            assert mark not in text, f"{path} shows {mark!r} to another manager"


def test_the_account_manager_does_see_their_own_rows(world, users):
    # The check above would pass on an API that showed nothing at all: the same reads show their own rows.
    manager = client_for(users["account_manager"])
    assert world["mine"].code in manager.get("/api/v1/customers/").content.decode()
    assert manager.get(f"/api/v1/agreements/{world['my_agreement'].number}/statement/").status_code == 200
    assert manager.get(f"/api/v1/purchases/{world['mine_line'].erp_line_id}/").status_code == 200
    assert manager.get(f"/api/v1/settlements/{world['mine_settlement'].pk}/").status_code == 200
    assert manager.get(f"/api/v1/price-claims/{world['mine_claim'].pk}/").status_code == 200
    assert world["my_agreement"].number in manager.get("/api/v1/accruals/").content.decode()
    assert world["my_agreement"].number in manager.get("/api/v1/ledger-entries/").content.decode()
    assert manager.get(f"/api/v1/ledger-entries/{world['mine_entry'].pk}/").status_code == 200


@pytest.mark.parametrize(("path", "resource", "method", "action", "view"), WRITE_ROUTES,
                         ids=[f"{r[2].upper()} {r[0]}" for r in WRITE_ROUTES])
def test_every_write_refuses_a_field_it_does_not_take(world, users, path, resource, method, action, view):
    # Unknown fields are never ignored: the administrator (who may do every write) gets a 400 naming each.
    response = getattr(client_for(users["administrator"]), method)(
        fill(path, world), data=json.dumps({"surely_not_a_field": 1, "nor_this": "x"}), content_type="application/json")
    assert response.status_code == 400, (path, response.status_code, response.content[:300])
    named = {detail["field"] for detail in response.json()["details"]}
    assert {"surely_not_a_field", "nor_this"} <= named, response.json()
