"""Lists that work: one spelling of what every list page does with its rows, wherever the page lives.

A list is a `ListSpec`: its filterset (shared with the API where the API has the list), its columns (what a
cell holds, how it is sorted, what it totals), and a default sort. `list_answer` takes the rows the page may
show (always from `visible_to(user)` or the user's own), and from the query string:
- filters through the filterset (a bad value: 400, named beside its field, no rows);
- `sort`: a column key from the whitelist, `-` for descending, ties broken by primary key so pages are stable;
- `page`: pages of `per_page`, links keeping the filters and the sort;
- totals of the whole filtered selection for the columns that total money, in the one aggregate query that
  also counts the rows; a list whose rows are in different currencies (`currency`: where a row's currency
  is) shows each amount in its row's currency's sign and totals per currency, never a sum of currencies;
- `export=csv|xlsx`: the whole filtered, sorted selection (every page) with the page's columns, as a file.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import HttpResponse, QueryDict

from config import clock
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from rebates.exports.list_sheet import write_list_csv, write_list_xlsx
from rebates.templatetags.figures import money, units

EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_ROWS_FETCHED = 2000
NUMERIC_KINDS = ("money", "unit_price", "quantity", "int", "percent")
# Query parameters of the page itself, never filters.
PAGE_PARAMETERS = ("sort", "page", "export")


@dataclass(frozen=True)
class ListColumn:
    """A column of a list: `value(row)` is the cell (text, Decimal, int, date or date-time; None for
    nothing), shown on the page by its `kind` and written to the file as it is. `sort` are the fields it
    orders by (none: not sortable); `total` an aggregate of the selection shown under it; `link(row)` the URL
    the cell's text links to on the page."""

    key: str
    label: str
    value: Callable[[Any], Any]
    kind: str = "text"
    sort: tuple[str, ...] = ()
    total: Any = None
    link: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class ListSpec:
    name: str  # the table's id and the exported file's name
    title: str  # the table's caption and the sheet's name
    filterset: type
    columns: tuple[ListColumn, ...]
    default_sort: str
    per_page: int = 50
    defaults: dict = field(default_factory=dict)  # filter values used when the query string leaves them out
    currency: str = ""  # the path of each row's currency ("agreement__customer__currency"); "" for none

    def sorts(self) -> dict[str, ListColumn]:
        return {column.key: column for column in self.columns if column.sort}


class Header(NamedTuple):
    label: str
    url: str  # the link that sorts by this column ("" when it is not sortable)
    aria_sort: str  # "ascending", "descending" or "" (the sort in force)
    numeric: bool


class Cell(NamedTuple):
    text: str
    url: str
    numeric: bool


CURRENCY = "list_currency"  # the annotation holding each row's currency


def cell_text(value, kind, currency=None) -> str:
    """A cell as the page shows it (amounts in `currency`'s sign, the default currency's when none)."""
    if value is None or value == "":
        return "—"
    if kind in ("money", "unit_price"):
        return money(value, currency or settings.DEFAULT_CURRENCY)
    if kind == "quantity":
        return units(value)
    if kind == "int":
        return f"{value:,}"
    if kind == "percent":
        return f"{value:,.1f}%"
    if isinstance(value, datetime):
        return f"{clock.local(value):%Y-%m-%d %H:%M}"
    if kind == "month" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _query(data: QueryDict, **changes) -> str:
    """The query string of `data` without empty values and page parameters, with `changes` set."""
    kept = QueryDict(mutable=True)
    for name, values in data.lists():
        if name in PAGE_PARAMETERS:
            continue
        for value in values:
            if value != "":
                kept.appendlist(name, value)
    for name, value in changes.items():
        if value:
            kept[name] = value
    return kept.urlencode()


class ListResult(NamedTuple):
    """What a list page's template places: see templates/includes/list_*.html."""

    spec: ListSpec
    form: Any  # the filterset's form, bound, with its errors
    errors: dict  # field -> messages, for the filters and the sort
    headers: list
    rows: list  # (row object, [Cell]) per row of the page
    page: Any  # the page (None when a filter was refused)
    count: int
    totals: list  # one text per column ("" where nothing totals)
    query: str  # the filters and the sort, without the page: what every page link and export keeps
    sort: str

    @property
    def status(self) -> int:
        return 400 if self.errors else 200


def _ordering(spec: ListSpec, sort: str) -> list[str]:
    column = spec.sorts()[sort.lstrip("-")]
    if not sort.startswith("-"):
        return [*column.sort, "pk"]
    return [*(name[1:] if name.startswith("-") else f"-{name}" for name in column.sort), "-pk"]


def list_answer(request, spec: ListSpec, queryset) -> "ListResult | HttpResponse":
    """The list page's rows (or, asked with `export=`, the file of the whole selection) from `queryset`,
    which holds only rows the user may see."""
    data = request.GET.copy()
    for name, value in spec.defaults.items():
        data.setdefault(name, value)
    filterset = spec.filterset(data, queryset=queryset, request=request)
    filterset.form.auto_id = f"{spec.name}-filter-%s"  # ids apart from any other form on the page
    errors = {}
    sort = data.get("sort") or spec.default_sort
    if sort.lstrip("-") not in spec.sorts():
        errors["sort"] = [f"Sort by one of: {', '.join(spec.sorts())} (a leading - for descending)."]
    export = data.get("export", "")
    if export and export not in EXPORT_FORMATS:
        errors["export"] = ["Export as csv or xlsx."]
    if not filterset.is_valid():
        errors.update({name: list(messages) for name, messages in filterset.errors.items()})
    query = _query(data, sort=sort if sort != spec.default_sort else "")
    headers = _headers(spec, data, sort if "sort" not in errors else spec.default_sort)
    if errors:
        return ListResult(spec, filterset.form, errors, headers, [], None, 0, [], query, sort)
    rows = filterset.qs.order_by(*_ordering(spec, sort))
    if spec.currency:
        rows = rows.annotate(**{CURRENCY: F(spec.currency)})
    if export:
        return export_response(spec, rows, export)
    groups = totals_by_currency(spec, rows)
    count = sum(group["rows_counted"] for group in groups)
    paginator = Paginator(rows, spec.per_page)
    paginator.count = count  # counted above, with the totals: no second count
    page = paginator.get_page(data.get("page"))
    return ListResult(spec, filterset.form, errors, headers, [(row, cells(spec, row)) for row in page.object_list],
                      page, count, _total_texts(spec, groups), query, sort)


def _totals(spec):
    return {f"total_{column.key}": column.total for column in spec.columns if column.total is not None}


def totals_by_currency(spec, rows) -> list[dict]:
    """The row count and the totals of the selection, in one aggregate query: one dict (rows_counted,
    total_<key>..., and list_currency when the list has currencies) per currency of its rows, by currency."""
    if not spec.currency:
        return [rows.aggregate(rows_counted=Count("pk"), **_totals(spec))]
    figures = rows.aggregate(rows_counted=Count("pk"), currencies=ArrayAgg(CURRENCY, distinct=True), **_totals(spec))
    currencies = sorted(figures.pop("currencies") or [])
    if len(currencies) <= 1:
        return [{**figures, CURRENCY: currencies[0]}] if currencies else [figures]
    # Rows in several currencies (rare): each currency's own totals.
    return [{**rows.filter(**{CURRENCY: currency}).aggregate(rows_counted=Count("pk"), **_totals(spec)),
             CURRENCY: currency} for currency in currencies]


def _total_texts(spec, groups) -> list[str]:
    """The totals row: each column's total in its currency's sign, one per currency when the rows are in
    several ("€10.00 · $20.00")."""
    if not any(column.total is not None for column in spec.columns):
        return []
    groups = groups or [{}]
    return [" · ".join(cell_text(group.get(f"total_{column.key}") or Decimal("0.00"), column.kind,
                                 group.get(CURRENCY)) for group in groups)
            if column.total is not None else "" for column in spec.columns]


def _headers(spec, data, sort) -> list[Header]:
    headers = []
    for column in spec.columns:
        url = aria = ""
        if column.sort:
            if sort.lstrip("-") == column.key:
                aria = "descending" if sort.startswith("-") else "ascending"
                wanted = column.key if sort.startswith("-") else f"-{column.key}"
            else:
                wanted = column.key
            url = "?" + _query(data, sort=wanted)
        headers.append(Header(column.label, url, aria, column.kind in NUMERIC_KINDS))
    return headers


def cells(spec, row) -> list[Cell]:
    shown = []
    currency = getattr(row, CURRENCY, None)
    for column in spec.columns:
        value = column.value(row)
        shown.append(Cell(cell_text(value, column.kind, currency), column.link(row) if column.link else "",
                          column.kind in NUMERIC_KINDS))
    return shown


def dated_name(name: str, format: str) -> str:
    """A download's file name a clerk would keep: what it holds and the day (customers-2026-12-03.xlsx)."""
    return f"{name}-{clock.today():%Y-%m-%d}.{format}"


def export_response(spec: ListSpec, rows, format: str) -> HttpResponse:
    """The whole selection as .xlsx or .csv: the page's columns, rows in the page's order, and the totals."""
    headers = [(column.label, column.kind) for column in spec.columns]
    currency_column = None
    if spec.currency:
        # Each row says its currency; its amounts take that currency's format.
        currency_column = len(headers)
        headers.append(("Currency", "text"))
        values = ([*(column.value(row) for column in spec.columns), getattr(row, CURRENCY)]
                  for row in rows.iterator(chunk_size=EXPORT_ROWS_FETCHED))
    else:
        values = ([column.value(row) for column in spec.columns]
                  for row in rows.iterator(chunk_size=EXPORT_ROWS_FETCHED))
    totals = None
    if _totals(spec):
        groups = totals_by_currency(spec, rows)
        if len(groups) > 1:
            # Never a sum of different currencies: the total of each, in words.
            totals = dict(enumerate(_total_texts(spec, groups)))
            totals = {index: text for index, text in totals.items() if text}
        else:
            figures = groups[0] if groups else {}
            totals = {index: figures.get(f"total_{column.key}") or Decimal("0.00")
                      for index, column in enumerate(spec.columns) if column.total is not None}
            if figures.get(CURRENCY):
                totals[currency_column] = figures[CURRENCY]
    target = io.BytesIO()
    if format == "xlsx":
        write_list_xlsx(target, title=spec.title, headers=headers, rows=values, totals=totals,
                        currency_column=currency_column)
        content_type = XLSX_CONTENT_TYPE
    else:
        write_list_csv(target, headers=headers, rows=values, totals=totals)
        content_type = CSV_CONTENT_TYPE
    response = HttpResponse(target.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{dated_name(spec.name, format)}"'
    return response


def values_export_response(*, name: str, title: str, headers, rows, format: str, totals=None,
                           dated: bool = True, currency_column: int | None = None,
                           currency_amounts=None) -> HttpResponse:
    """Rows already read (lists of cells in the order of `headers`, (label, kind) pairs) as .xlsx or .csv,
    for pages whose rows are not one queryset (the watchlist, the forecast liability by month). The file is
    named `name` and today's date, or `name` alone when it names its own date or months (`dated=False`).
    `currency_column`: the column holding each row's currency, whose format its amounts (the columns
    `currency_amounts`, else all) take in a sheet."""
    target = io.BytesIO()
    if format == "xlsx":
        write_list_xlsx(target, title=title, headers=headers, rows=rows, totals=totals,
                        currency_column=currency_column, currency_amounts=currency_amounts)
        content_type = XLSX_CONTENT_TYPE
    else:
        write_list_csv(target, headers=headers, rows=rows, totals=totals)
        content_type = CSV_CONTENT_TYPE
    response = HttpResponse(target.getvalue(), content_type=content_type)
    filename = dated_name(name, format) if dated else f"{name}.{format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
