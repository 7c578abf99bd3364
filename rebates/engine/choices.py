"""The settings a rule chooses from besides its kind: what a rate means, what tiers are read on, how tiers
pay, what growth is measured against. Strings from the models ("percent") become these enums."""

from enum import StrEnum


class RateType(StrEnum):
    PER_UNIT = "per_unit"
    PERCENT = "percent"


class TierBasis(StrEnum):
    QUANTITY = "quantity"
    AMOUNT = "amount"
    PERCENT_OF_BASELINE = "percent_of_baseline"


class TierMethod(StrEnum):
    RETROACTIVE = "retroactive"
    RETROACTIVE_ON_GROWTH = "retroactive_on_growth"
    INCREMENTAL = "incremental"


class Baseline(StrEnum):
    LAST_YEAR = "last_year"
    STATED = "stated"
