from datetime import date, datetime

import pytest

from rebates.engine.periods import (
    SettlementFrequency,
    add_months,
    month_of,
    months_from,
    period_start,
    require_month,
)


def test_add_months_crosses_the_year_both_ways():
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 2, 1), -3) == date(2025, 11, 1)


def test_months_from_includes_both_ends():
    assert months_from(date(2026, 11, 1), date(2027, 1, 1)) == (
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    )


def test_months_from_is_empty_when_last_is_before_first():
    assert months_from(date(2026, 3, 1), date(2026, 2, 1)) == ()


def test_month_of_a_day_is_its_first():
    assert month_of(date(2026, 6, 30)) == date(2026, 6, 1)


def test_annual_period_from_january_is_the_calendar_year():
    starts = {
        period_start(date(2026, 1, 1), SettlementFrequency.ANNUAL, date(2026, m, 1)) for m in range(1, 13)
    }
    assert starts == {date(2026, 1, 1)}


def test_annual_period_from_march_runs_twelve_months_to_february():
    start = date(2026, 3, 1)
    assert period_start(start, SettlementFrequency.ANNUAL, date(2027, 2, 1)) == start
    assert period_start(start, SettlementFrequency.ANNUAL, date(2027, 3, 1)) == date(2027, 3, 1)


def test_quarterly_periods_are_aligned_to_the_term_start():
    start = date(2026, 1, 1)
    assert period_start(start, SettlementFrequency.QUARTERLY, date(2026, 3, 1)) == date(2026, 1, 1)
    assert period_start(start, SettlementFrequency.QUARTERLY, date(2026, 4, 1)) == date(2026, 4, 1)
    assert period_start(start, SettlementFrequency.QUARTERLY, date(2026, 6, 1)) == date(2026, 4, 1)


def test_monthly_periods_are_each_month():
    assert period_start(date(2026, 1, 1), "monthly", date(2026, 7, 1)) == date(2026, 7, 1)


def test_require_month_refuses_a_mid_month_date():
    with pytest.raises(ValueError, match="first of a month"):
        require_month("month", date(2026, 1, 15))


def test_require_month_refuses_a_datetime():
    with pytest.raises(TypeError, match="must be a date"):
        require_month("month", datetime(2026, 1, 1))
