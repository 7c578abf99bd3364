"""The balance upkeep trigger (0017, 0044) sums a booking statement's entries per agreement in one pass instead of
per (agreement, month) and then per agreement: a run's statement books one or two entries an agreement and month,
so the first pass made about one group an entry (with its five sums, spilling to disk at the default `work_mem`).
The earned cents per month are now each entry's cents (an entry's amount is whole cents), taken in month order,
and `rebates_earned_cumulative` adds the cents of a month named more than once. The same figures: a month named
once (as every caller gave it before) gives what it gave before."""

from django.db import migrations

FUNCTIONS = """
-- months: ascending, a month repeated for each of its entries; cents: what each earned. The running sums from the
-- first month to the last.
CREATE OR REPLACE FUNCTION rebates_earned_cumulative(months integer[], cents bigint[]) RETURNS bigint[]
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
    WHILE j <= n AND months[j] = m LOOP
      running := running + cents[j];
      j := j + 1;
    END LOOP;
    result[m] := running;
  END LOOP;
  RETURN result;
END $$;

CREATE OR REPLACE FUNCTION rebates_balance_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rebates_agreementbalance AS b (agreement_id, customer_id, accrued, paid, forfeited, unpaid,
                                             earned_cents)
  SELECT agreement_id, (SELECT a.customer_id FROM rebates_rebateagreement a WHERE a.id = agreement_id),
         COALESCE(SUM(amount) FILTER (WHERE earned), 0),
         -COALESCE(SUM(amount) FILTER (WHERE kind = 'payout'), 0),
         -COALESCE(SUM(amount) FILTER (WHERE kind = 'forfeiture'), 0),
         SUM(amount),
         rebates_earned_cumulative(array_agg(rebates_month_subscript(period) ORDER BY period) FILTER (WHERE earned),
                                   array_agg((amount * 100)::bigint ORDER BY period) FILTER (WHERE earned))
  FROM (SELECT agreement_id, period, kind, amount, kind IN ('accrual', 'catch_up', 'adjustment') AS earned
        FROM added) entries
  GROUP BY agreement_id ORDER BY agreement_id
  ON CONFLICT (agreement_id) DO UPDATE SET
    accrued = b.accrued + EXCLUDED.accrued, paid = b.paid + EXCLUDED.paid,
    forfeited = b.forfeited + EXCLUDED.forfeited, unpaid = b.unpaid + EXCLUDED.unpaid,
    earned_cents = rebates_earned_merge(b.earned_cents, EXCLUDED.earned_cents);
  RETURN NULL;
END $$;
"""

# As 0044 made them.
PREVIOUS = """
CREATE OR REPLACE FUNCTION rebates_earned_cumulative(months integer[], cents bigint[]) RETURNS bigint[]
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
"""


class Migration(migrations.Migration):

    dependencies = [
        ('rebates', '0045_settlement_currency'),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, reverse_sql=PREVIOUS),
    ]
