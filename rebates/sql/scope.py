"""The scope rule as SQL text: the one fragment every raw query of the rebates app puts in its WHERE clause.

See rebates/scope.py for the rule and its other two spellings (Python and the ORM).
"""

import re

from django.db import connection

# The aliases and column expressions a fragment is given: identifiers, optionally qualified, from our code.
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


def table(model) -> str:
    """The model's table name, quoted for SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def covers_sql(*, agreement: str = "a", product: str = "pl.product_id", product_line: str = "pr.product_line_id",
               month: str = "pl.month", or_before_term: str | None = None, or_product: str | None = None) -> str:
    """SQL text, true when the agreement (table alias `agreement`) covers the product (column `product`, whose
    product line is `product_line`) in the month (`month`, a first-of-month date column): the product is in
    the scope and the month in the term. No parameters: aliases and columns are named, never values.

    The customer is the caller's join. Reads on top of the rule add to it, never restate it:
    `or_before_term`, a condition under which months before the term count too (a growth rule's baseline
    year; the caller bounds how far back); `or_product`, a condition under which a product out of scope
    counts too (a launch-bonus product)."""
    for name in (agreement, product, product_line, month):
        if not _NAME.match(name):
            raise ValueError(f"not a column or alias: {name!r}")
    from rebates.models import RebateAgreement

    first = f"{month} >= {agreement}.start_month"
    if or_before_term:
        first = f"({first} OR {or_before_term})"
    extra = f"\n         OR {or_product}" if or_product else ""
    return (
        f"({first} AND {month} <= {agreement}.end_month\n"
        f"    AND (EXISTS (SELECT 1 FROM {table(RebateAgreement.products.through)} sp\n"
        f"                 WHERE sp.rebateagreement_id = {agreement}.id AND sp.product_id = {product})\n"
        f"         OR EXISTS (SELECT 1 FROM {table(RebateAgreement.product_lines.through)} sl\n"
        f"                    WHERE sl.rebateagreement_id = {agreement}.id AND sl.productline_id = {product_line})"
        f"{extra}))"
    )


def member_in_sql(*, membership: str = "g", month: str = "pl.month") -> str:
    """SQL text, true when the membership (table alias `membership`, customers_groupmembership) holds the month
    (`month`): from the month joined to the month before it ended. The same rule as
    `customers.models.member_in` (tests/rebates/test_groups.py checks they agree)."""
    for name in (membership, month):
        if not _NAME.match(name):
            raise ValueError(f"not a column or alias: {name!r}")
    return f"({month} >= {membership}.joined AND ({membership}.ended IS NULL OR {month} < {membership}.ended))"


def _scope_pairs_sql(*, named: str, in_lines: str) -> str:
    """The (agreement_id, product_id) pairs of the scope: the products named (`named`, a condition on
    sp.rebateagreement_id) and those of the product lines named (`in_lines`, on sl.rebateagreement_id); a product
    may come twice, named and in a named line."""
    from rebates.models import Product, RebateAgreement

    return (
        f"SELECT sp.rebateagreement_id AS agreement_id, sp.product_id\n"
        f"  FROM {table(RebateAgreement.products.through)} sp\n"
        f" WHERE {named}\n"
        f"UNION ALL\n"
        f"SELECT sl.rebateagreement_id, pr.id\n"
        f"  FROM {table(RebateAgreement.product_lines.through)} sl\n"
        f"  JOIN {table(Product)} pr ON pr.product_line_id = sl.productline_id\n"
        f" WHERE {in_lines}"
    )


def scope_products_sql(*, agreements: str) -> str:
    """SQL text of a SELECT of (agreement_id, products): for each of the agreements whose ids are in the array
    `agreements` (a bound parameter's placeholder, such as "%(agreements)s") with a product in scope, the array
    of every product in its scope, named or through its product line (one may be there twice: named and in a
    named line). The product half of `covers_sql` as a set, for a read that tests each line with
    `in_scope_sql` rather than against the scope's two tables. tests/rebates/test_scope.py checks the two
    agree."""
    pairs = _scope_pairs_sql(named=f"sp.rebateagreement_id = ANY({agreements}::bigint[])",
                             in_lines=f"sl.rebateagreement_id = ANY({agreements}::bigint[])")
    return f"SELECT agreement_id, array_agg(product_id) AS products FROM (\n{pairs}\n) pairs GROUP BY agreement_id"


def products_in_scope_sql(*, agreement: str = "a") -> str:
    """SQL text of an array of every product in the scope of the agreement (table alias `agreement`), as
    `scope_products_sql` makes it for many, for one row of agreement at a time."""
    if not _NAME.match(agreement):
        raise ValueError(f"not a column or alias: {agreement!r}")
    pairs = _scope_pairs_sql(named=f"sp.rebateagreement_id = {agreement}.id",
                             in_lines=f"sl.rebateagreement_id = {agreement}.id")
    return f"ARRAY(SELECT product_id FROM (\n{pairs}\n) pairs)"


def in_scope_sql(*, agreement: str = "a", products: str = "a.products", product: str = "pl.product_id",
                 month: str = "pl.month") -> str:
    """SQL text, true when the agreement (table alias `agreement`) covers the product (column `product`) in the
    month (`month`), its products in scope given as an array (`products`, as `scope_products_sql` or
    `products_in_scope_sql` make it): `covers_sql` without a lookup per line."""
    for name in (agreement, products, product, month):
        if not _NAME.match(name):
            raise ValueError(f"not a column or alias: {name!r}")
    return (f"({month} >= {agreement}.start_month AND {month} <= {agreement}.end_month "
            f"AND {product} = ANY({products}))")
