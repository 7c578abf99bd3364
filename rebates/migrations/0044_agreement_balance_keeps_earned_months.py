"""Each agreement balance also keeps what the agreement earned up to each month: `earned_cents`, in cents, the
earned entries (accrual, catch-up, adjustment) summed over every month up to and including the subscript's
(a month's subscript is year * 12 + month - 1), from the agreement's first month with such an entry to its last
(so the last element is `accrued` in cents). The aged liability reads what each bucket's months earned as the
difference of two elements, and no ledger entry. Kept by the same statement-level trigger as the other figures,
in the booking's own transaction, by `period` (the month an entry is booked in, which the aging uses). And each
balance carries its agreement's customer (set when the balance is made, moved with the agreement by a trigger on
the agreement's customer), so the aging per customer needs no join to the agreements. Existing entries are summed
into it once, here."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

# What every booking statement adds: per agreement, its months' earned cents made cumulative
# (rebates_earned_cumulative) and merged into what the balance kept (rebates_earned_merge).
FUNCTIONS = """
CREATE FUNCTION rebates_month_subscript(month date) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (date_part('year', month) * 12 + date_part('month', month) - 1)::integer
$$;

-- months: ascending and distinct; cents: what each earned. The running sums from the first month to the last.
CREATE FUNCTION rebates_earned_cumulative(months integer[], cents bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  result bigint[];
  running bigint := 0;
  j integer := 1;
  n integer := cardinality(months);
BEGIN
  IF n IS NULL OR n = 0 THEN
    RETURN NULL;
  END IF;
  result := array_fill(0::bigint, ARRAY[months[n] - months[1] + 1], ARRAY[months[1]]);
  FOR m IN months[1] .. months[n] LOOP
    IF months[j] = m THEN
      running := running + cents[j];
      j := j + 1;
    END IF;
    result[m] := running;
  END LOOP;
  RETURN result;
END $$;

-- Two running sums added month by month: before its first month a sum is 0, after its last it stays there. Only
-- the months from the first added on are visited (a booking adds to its agreement's latest months, mostly).
CREATE FUNCTION rebates_earned_merge(kept bigint[], added bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  result bigint[] := kept;
  lk integer := array_lower(kept, 1);
  uk integer := array_upper(kept, 1);
  la integer := array_lower(added, 1);
  ua integer := array_upper(added, 1);
BEGIN
  IF added IS NULL THEN
    RETURN kept;
  END IF;
  IF kept IS NULL THEN
    RETURN added;
  END IF;
  FOR m IN la .. lk - 1 LOOP
    result[m] := added[LEAST(m, ua)];
  END LOOP;
  FOR m IN GREATEST(la, lk) .. uk LOOP
    result[m] := kept[m] + added[LEAST(m, ua)];
  END LOOP;
  FOR m IN uk + 1 .. ua LOOP
    result[m] := kept[uk] + CASE WHEN m < la THEN 0 ELSE added[m] END;
  END LOOP;
  RETURN result;
END $$;
"""

# The trigger of 0017 with the earned months added; agreements in id order as before.
ADD_ENTRIES = """
CREATE OR REPLACE FUNCTION rebates_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rebates_agreementbalance AS b (agreement_id, customer_id, accrued, paid, forfeited, unpaid,
                                             earned_cents)
  SELECT agreement_id, (SELECT a.customer_id FROM rebates_rebateagreement a WHERE a.id = agreement_id),
         SUM(accrued), SUM(paid), SUM(forfeited), SUM(unpaid),
         rebates_earned_cumulative(array_agg(month ORDER BY month) FILTER (WHERE earned IS NOT NULL),
                                   array_agg(earned ORDER BY month) FILTER (WHERE earned IS NOT NULL))
  FROM (SELECT agreement_id, rebates_month_subscript(period) AS month,
               COALESCE(SUM(amount) FILTER (WHERE kind IN ('accrual', 'catch_up', 'adjustment')), 0) AS accrued,
               -COALESCE(SUM(amount) FILTER (WHERE kind = 'payout'), 0) AS paid,
               -COALESCE(SUM(amount) FILTER (WHERE kind = 'forfeiture'), 0) AS forfeited,
               SUM(amount) AS unpaid,
               (SUM(amount) FILTER (WHERE kind IN ('accrual', 'catch_up', 'adjustment')) * 100)::bigint AS earned
        FROM added GROUP BY agreement_id, period) months
  GROUP BY agreement_id ORDER BY agreement_id
  ON CONFLICT (agreement_id) DO UPDATE SET
    accrued = b.accrued + EXCLUDED.accrued, paid = b.paid + EXCLUDED.paid,
    forfeited = b.forfeited + EXCLUDED.forfeited, unpaid = b.unpaid + EXCLUDED.unpaid,
    earned_cents = rebates_earned_merge(b.earned_cents, EXCLUDED.earned_cents);
  RETURN NULL;
END $$;
CREATE FUNCTION rebates_balance_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE rebates_agreementbalance SET customer_id = NEW.customer_id WHERE agreement_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER rebates_balance_customer AFTER UPDATE OF customer_id ON rebates_rebateagreement
  FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id) EXECUTE FUNCTION rebates_balance_customer();
UPDATE rebates_agreementbalance b SET customer_id = a.customer_id
FROM rebates_rebateagreement a WHERE a.id = b.agreement_id;
UPDATE rebates_agreementbalance b SET earned_cents = e.earned_cents
FROM (SELECT agreement_id, rebates_earned_cumulative(array_agg(month ORDER BY month), array_agg(earned ORDER BY month))
             AS earned_cents
      FROM (SELECT agreement_id, rebates_month_subscript(period) AS month, (SUM(amount) * 100)::bigint AS earned
            FROM rebates_ledgerentry WHERE kind IN ('accrual', 'catch_up', 'adjustment')
            GROUP BY agreement_id, period) months
      GROUP BY agreement_id) e
WHERE e.agreement_id = b.agreement_id;
"""

# The trigger as 0017 made it.
PREVIOUS = """
DROP TRIGGER rebates_balance_customer ON rebates_rebateagreement;
DROP FUNCTION rebates_balance_customer();
CREATE OR REPLACE FUNCTION rebates_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rebates_agreementbalance AS b (agreement_id, accrued, paid, forfeited, unpaid)
  SELECT agreement_id,
         COALESCE(SUM(amount) FILTER (WHERE kind IN ('accrual', 'catch_up', 'adjustment')), 0),
         -COALESCE(SUM(amount) FILTER (WHERE kind = 'payout'), 0),
         -COALESCE(SUM(amount) FILTER (WHERE kind = 'forfeiture'), 0),
         SUM(amount)
  FROM added GROUP BY agreement_id ORDER BY agreement_id
  ON CONFLICT (agreement_id) DO UPDATE SET
    accrued = b.accrued + EXCLUDED.accrued, paid = b.paid + EXCLUDED.paid,
    forfeited = b.forfeited + EXCLUDED.forfeited, unpaid = b.unpaid + EXCLUDED.unpaid;
  RETURN NULL;
END $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION rebates_earned_merge(bigint[], bigint[]);
DROP FUNCTION rebates_earned_cumulative(integer[], bigint[]);
DROP FUNCTION rebates_month_subscript(date);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0008_buying_groups'),
        ('rebates', '0043_accrual_run_booked_totals'),
    ]

    operations = [
        migrations.AddField(
            model_name='agreementbalance',
            name='customer',
            field=models.ForeignKey(db_index=False, editable=False, help_text="The agreement's customer, kept with it.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer'),
        ),
        migrations.AddField(
            model_name='agreementbalance',
            name='earned_cents',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, editable=False, help_text='What the agreement earned up to each month, in cents: subscript year * 12 + month - 1, from its first earning month to its last.', null=True, size=None),
        ),
        migrations.RunSQL(FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(ADD_ENTRIES, reverse_sql=PREVIOUS),
    ]
