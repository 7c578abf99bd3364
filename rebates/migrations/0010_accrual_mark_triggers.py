"""Triggers that mark, in rebates_accrualmark, every change that can alter an agreement's expected ledger,
whoever makes it (the ORM, the admin, the API, an import, raw SQL): the next accrual run reads the marks.

- purchase lines inserted, changed (customer, product, month, quantity or amount) or deleted: the cells
  (customer, product, its product line, month) of the old and the new line;
- a product moved to another product line: every cell the product was bought in, under the old line and
  under the new one;
- an agreement's scope (products, product lines), rule, tier bands, bonus conditions, contract prices,
  its term, commitment, frequency, status or customer, and its customer's status: the agreement (whole);
- TRUNCATE of any of those tables: every agreement.

Statement-level triggers read the changed rows from transition tables, so a batch of thousands of lines
writes one INSERT of its distinct cells, not one per line. Each mark carries its transaction's id so a run
consumes exactly the marks its snapshot saw (rebates.sql.marks).
"""

from django.db import migrations

XACT = "pg_current_xact_id()::text::bigint"

MARK_CELLS = f"""
INSERT INTO rebates_accrualmark (reason, customer_id, product_id, product_line_id, month, xact)
SELECT DISTINCT '{{reason}}', c.customer_id, c.product_id, p.product_line_id, c.month, {XACT}
FROM ({{cells}}) c JOIN rebates_product p ON p.id = c.product_id;
"""

MARK_AGREEMENTS = f"""
INSERT INTO rebates_accrualmark (reason, agreement_id, xact)
SELECT DISTINCT '{{reason}}', x.agreement_id, {XACT} FROM ({{agreements}}) x WHERE x.agreement_id IS NOT NULL;
"""

# Columns of a purchase line whose change moves what the engine reads (unit price is not one).
LINE = "customer_id, product_id, month, quantity, amount"
CHANGED_LINES = f"old_rows o JOIN new_rows n ON n.id = o.id WHERE ({', '.join('o.' + c.strip() for c in LINE.split(','))}) " \
                f"IS DISTINCT FROM ({', '.join('n.' + c.strip() for c in LINE.split(','))})"

# Columns of an agreement the engine or the run reads; terms_changed_at: a writer saying terms changed.
AGREEMENT = ("customer_id", "start_month", "end_month", "committed_monthly_quantity", "settlement_frequency", "status",
             "terminated_on", "terms_changed_at")
CHANGED_AGREEMENTS = (f"SELECT n.id AS agreement_id FROM old_rows o JOIN new_rows n ON n.id = o.id "
                      f"WHERE ({', '.join('o.' + c for c in AGREEMENT)}) IS DISTINCT FROM "
                      f"({', '.join('n.' + c for c in AGREEMENT)})")


def _both(select):
    """`select` (with {rows}) over the old and the new rows of an UPDATE."""
    return f"{select.format(rows='old_rows')} UNION {select.format(rows='new_rows')}"


# (table, reason, {event: the agreements, or the cells, a statement with that event marks}).
AGREEMENT_MARKS = [
    ("rebates_rebateagreement_products", "scope", "SELECT rebateagreement_id AS agreement_id FROM {rows}"),
    ("rebates_rebateagreement_product_lines", "scope", "SELECT rebateagreement_id AS agreement_id FROM {rows}"),
    ("rebates_rebaterule", "rule", "SELECT agreement_id FROM {rows}"),
    ("rebates_tierband", "rule",
     "SELECT r.agreement_id FROM {rows} t JOIN rebates_rebaterule r ON r.id = t.rule_id"),
    ("rebates_bonuscondition", "rule",
     "SELECT r.agreement_id FROM {rows} t JOIN rebates_rebaterule r ON r.id = t.rule_id"),
    ("rebates_contractprice", "price", "SELECT agreement_id FROM {rows}"),
]

TRUNCATED = ("rebates_purchaseline", "rebates_rebateagreement_products", "rebates_rebateagreement_product_lines",
             "rebates_rebaterule", "rebates_tierband", "rebates_bonuscondition", "rebates_contractprice")

EVENTS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
          "DELETE": "OLD TABLE AS old_rows"}


def _function(name, body):
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND;\n"
            f"$$ LANGUAGE plpgsql;\n")


def _statement_trigger(table, event, function):
    return (f"CREATE TRIGGER {table}_marks_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {EVENTS[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n")


def _create():
    sql, drop = [], []
    # Purchase lines: the cells of the lines written, moved or deleted.
    cells = {
        "INSERT": "SELECT customer_id, product_id, month FROM new_rows",
        "UPDATE": (f"SELECT o.customer_id, o.product_id, o.month FROM {CHANGED_LINES} "
                   f"UNION SELECT n.customer_id, n.product_id, n.month FROM {CHANGED_LINES}"),
        "DELETE": "SELECT customer_id, product_id, month FROM old_rows",
    }
    for event, select in cells.items():
        function = f"rebates_purchaseline_mark_{event.lower()}"
        sql.append(_function(function, MARK_CELLS.format(reason="purchase", cells=select)))
        sql.append(_statement_trigger("rebates_purchaseline", event, function))
        drop.append((function, "rebates_purchaseline", event))
    for table, reason, select in AGREEMENT_MARKS:
        for event in EVENTS:
            function = f"{table}_mark_{event.lower()}"
            rows = {"INSERT": select.format(rows="new_rows"), "DELETE": select.format(rows="old_rows"),
                    "UPDATE": _both(select)}[event]
            sql.append(_function(function, MARK_AGREEMENTS.format(reason=reason, agreements=rows)))
            sql.append(_statement_trigger(table, event, function))
            drop.append((function, table, event))
    # Agreements: a new one, and a change of what the run reads of one.
    for event, select in (("INSERT", "SELECT id AS agreement_id FROM new_rows"), ("UPDATE", CHANGED_AGREEMENTS)):
        function = f"rebates_rebateagreement_mark_{event.lower()}"
        sql.append(_function(function, MARK_AGREEMENTS.format(reason="agreement", agreements=select)))
        sql.append(_statement_trigger("rebates_rebateagreement", event, function))
        drop.append((function, "rebates_rebateagreement", event))
    # A customer's status (active, lost): every agreement of the customer.
    function = "customers_customer_mark_update"
    sql.append(_function(function, MARK_AGREEMENTS.format(reason="customer", agreements=(
        "SELECT a.id AS agreement_id FROM old_rows o JOIN new_rows n ON n.id = o.id "
        "JOIN rebates_rebateagreement a ON a.customer_id = n.id WHERE o.status IS DISTINCT FROM n.status"))))
    sql.append(_statement_trigger("customers_customer", "UPDATE", function))
    drop.append((function, "customers_customer", "UPDATE"))
    # A product moved to another product line: the cells it was bought in, under both lines.
    sql.append(_function("rebates_product_mark_line_change", f"""
INSERT INTO rebates_accrualmark (reason, customer_id, product_id, product_line_id, month, xact)
SELECT DISTINCT 'product_line', pl.customer_id, pl.product_id, l.line_id, pl.month, {XACT}
FROM rebates_purchaseline pl
CROSS JOIN (VALUES (OLD.product_line_id), (NEW.product_line_id)) AS l (line_id)
WHERE pl.product_id = NEW.id;"""))
    sql.append("CREATE TRIGGER rebates_product_marks_line_change AFTER UPDATE OF product_line_id ON rebates_product "
               "FOR EACH ROW WHEN (OLD.product_line_id IS DISTINCT FROM NEW.product_line_id) "
               "EXECUTE FUNCTION rebates_product_mark_line_change();\n")
    drop.append(("rebates_product_mark_line_change", "rebates_product", "LINE_CHANGE"))
    # TRUNCATE reads no rows: every agreement.
    sql.append(_function("rebates_mark_every_agreement", MARK_AGREEMENTS.format(
        reason="truncate", agreements="SELECT id AS agreement_id FROM rebates_rebateagreement")))
    for table in TRUNCATED:
        sql.append(f"CREATE TRIGGER {table}_marks_truncate AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rebates_mark_every_agreement();\n")
        drop.append((None, table, "TRUNCATE"))
    drop.append(("rebates_mark_every_agreement", None, None))
    return "".join(sql), drop


# Changes made before these triggers existed and after the last successful run, marked once.
SINCE_LAST_RUN = f"""
INSERT INTO rebates_accrualmark (reason, customer_id, product_id, product_line_id, month, xact)
SELECT DISTINCT 'purchase', pl.customer_id, pl.product_id, p.product_line_id, pl.month, {XACT}
FROM rebates_purchaseline pl JOIN rebates_product p ON p.id = pl.product_id
WHERE pl.updated_at >= (SELECT max(changes_seen_until) FROM rebates_accrualrun WHERE status = 'succeeded');
INSERT INTO rebates_accrualmark (reason, agreement_id, xact)
SELECT 'agreement', a.id, {XACT} FROM rebates_rebateagreement a
WHERE a.terms_changed_at >= (SELECT max(changes_seen_until) FROM rebates_accrualrun WHERE status = 'succeeded');
"""


def create_triggers(apps, schema_editor):
    sql, _ = _create()
    schema_editor.execute(sql, params=None)
    schema_editor.execute(SINCE_LAST_RUN, params=None)


def drop_triggers(apps, schema_editor):
    _, drop = _create()
    statements = []
    for function, table, event in drop:
        if table is not None:
            name = f"{table}_marks_{'line_change' if event == 'LINE_CHANGE' else event.lower()}"
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
        if function is not None:
            statements.append(f"DROP FUNCTION IF EXISTS {function}();")
    schema_editor.execute("\n".join(statements), params=None)


class Migration(migrations.Migration):
    dependencies = [("rebates", "0009_accrual_marks_and_checks"), ("customers", "0002_customers_paged_by_name_index")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
