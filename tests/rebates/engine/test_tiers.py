from decimal import Decimal

import pytest

from rebates.engine.tiers import Band, band_rate, band_shares, incremental_total, validate_bands

BANDS = (
    Band(Decimal("0"), Decimal("1")),
    Band(Decimal("1000"), Decimal("2")),
    Band(Decimal("5000"), Decimal("3")),
)


def test_threshold_is_inclusive():
    assert band_rate(BANDS, Decimal("999.999")) == Decimal("1")
    assert band_rate(BANDS, Decimal("1000")) == Decimal("2")


def test_volume_above_the_last_threshold_gets_the_last_rate():
    assert band_rate(BANDS, Decimal("1000000")) == Decimal("3")


def test_negative_volume_stays_in_the_first_band():
    assert band_rate(BANDS, Decimal("-5")) == Decimal("1")


def test_band_shares_split_the_volume_across_bands():
    assert [share for _, share in band_shares(BANDS, Decimal("6200"))] == [1000, 4000, 1200]


def test_incremental_total_is_each_band_share_at_its_rate():
    # 1,000 x 1 + 200 x 2
    assert incremental_total(BANDS, Decimal("1200")) == Decimal("1400")


def test_bands_must_start_at_zero():
    with pytest.raises(ValueError, match="first tier band must start at 0, not at 100"):
        validate_bands((Band(Decimal("100"), Decimal("1")),))


def test_band_thresholds_must_ascend():
    bands = (
        Band(Decimal("0"), Decimal("1")),
        Band(Decimal("5000"), Decimal("3")),
        Band(Decimal("1000"), Decimal("2")),
    )
    with pytest.raises(ValueError, match="thresholds must ascend: 1000 follows 5000"):
        validate_bands(bands)


def test_two_bands_at_the_same_threshold_are_refused():
    with pytest.raises(ValueError, match="must ascend"):
        validate_bands((Band(Decimal("0"), Decimal("1")), Band(Decimal("0"), Decimal("2"))))


def test_a_tiered_rule_needs_a_band():
    with pytest.raises(ValueError, match="at least one band"):
        validate_bands(())


def test_a_negative_band_rate_is_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        Band(Decimal("0"), Decimal("-1"))
