"""Period lock: the months finance has closed, and the month each ledger entry concerns.

`concerns` is the month an entry is for; `period` stays the month it is booked in. Every existing entry
concerns its own month (backfilled here, with the append-only trigger held off for that one statement).

Every writer books an entry for a locked month into the first open month after it (`rebates_open_month`, here,
for the flat rules' INSERT ... SELECT; rebates.period_locks for the engine's COPY and the ORM), naming the
month it concerns. A statement-level trigger refuses any insert that would still land in a locked month,
whoever sends it. (A row-level BEFORE trigger moving entries would cost every COPY its batched inserts.)
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import config.validators

# The month an entry for `m` is booked in: `m`, or the first month after it that is not locked. Stable and
# inlined: the flat rules' INSERT ... SELECT calls it per row, in the statement's own snapshot.
OPEN_MONTH = """
CREATE FUNCTION rebates_open_month(m date) RETURNS date LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM rebates_periodlock WHERE month = m AND reopened_at IS NULL) THEN m
         ELSE (SELECT (m + make_interval(months => i))::date FROM generate_series(1, 1200) AS i
               WHERE NOT EXISTS (SELECT 1 FROM rebates_periodlock
                                 WHERE month = (m + make_interval(months => i))::date AND reopened_at IS NULL)
               ORDER BY i LIMIT 1) END
$$;

CREATE FUNCTION rebates_ledger_refuse_locked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  refused record;
BEGIN
  IF EXISTS (SELECT 1 FROM rebates_periodlock WHERE reopened_at IS NULL) THEN
    SELECT a.booking_key, a.period INTO refused FROM added a
    JOIN rebates_periodlock l ON l.month = a.period AND l.reopened_at IS NULL LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'month % is locked: entry % must be booked in the first open month after it',
                      to_char(refused.period, 'YYYY-MM'), refused.booking_key
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER rebates_ledgerentry_refuse_locked AFTER INSERT ON rebates_ledgerentry
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rebates_ledger_refuse_locked();
"""

NO_OPEN_MONTH = """
DROP TRIGGER rebates_ledgerentry_refuse_locked ON rebates_ledgerentry;
DROP FUNCTION rebates_ledger_refuse_locked();
DROP FUNCTION rebates_open_month(date);
"""

BACKFILL = """
ALTER TABLE rebates_ledgerentry DISABLE TRIGGER rebates_ledgerentry_append_only;
UPDATE rebates_ledgerentry SET concerns = period WHERE concerns IS NULL;
ALTER TABLE rebates_ledgerentry ENABLE TRIGGER rebates_ledgerentry_append_only;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("rebates", "0032_referral_rule_kind"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PeriodLock",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="First of the month.", unique=True,
                                           validators=[config.validators.validate_month])),
                ("locked_at", models.DateTimeField()),
                ("reopened_at", models.DateTimeField(blank=True, help_text="Set while the month is open again.",
                                                     null=True)),
                ("reopen_reason", models.CharField(blank=True, max_length=300)),
                ("locked_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                related_name="+", to=settings.AUTH_USER_MODEL)),
                ("reopened_by", models.ForeignKey(blank=True, null=True,
                                                  on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                  to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-month"],
                "permissions": [("lock_period", "Can lock and reopen months")],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("month__day", 1)), name="period_lock_month_is_month"),
                    models.CheckConstraint(condition=models.Q(("reopened_at__isnull", True),
                                                              models.Q(("reopen_reason", ""), _negated=True),
                                                              _connector="OR"),
                                           name="period_lock_reopened_with_reason"),
                ],
            },
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="period",
            field=models.DateField(help_text="The month the entry is booked in (first of the month)."),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="concerns",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="ledgerentry",
            name="concerns",
            field=models.DateField(blank=True, help_text="The month the entry is for (first of the month); its "
                                                         "booking month unless that month was locked."),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(condition=models.Q(("concerns__day", 1)), name="entry_concerns_is_month"),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(condition=models.Q(("concerns__lte", models.F("period"))),
                                              name="entry_concerns_not_after_period"),
        ),
        migrations.RunSQL(OPEN_MONTH, reverse_sql=NO_OPEN_MONTH),
    ]
