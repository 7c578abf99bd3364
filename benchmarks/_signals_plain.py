"""The floor of the market signal benchmark: a sorted single-pass sweep in plain Python, written apart from
pricing_signals.detection.

The claims of one product come as plain integers, as the nightly sweep reads them: (id, customer, day
number, price in ten-thousandths). Sorted by day once, they are swept in that order while a price-sorted
list holds the claims of the last `window_days`. Every witnessing set fits in a box of the window by
[lowest price, lowest price * (1 + tolerance)], and is complete once its latest claim arrives: so when a
claim arrives, the boxes that hold it (lowest price from price / ratio up to its own) are slid over the
price-sorted list with two pointers and a count of distinct customers. Those with enough customers all
hold the new claim, so they cover one run of the list: that run is corroborated and joined to the new
claim in a union-find. O(n log n + n * d), d the claims near a claim in date and price.

It computes docs/product.md's statuses and signals (the benchmark checks that detection agrees with it
claim for claim and signal for signal), without the figures, signal identities or database writes that
detection adds.
"""

from bisect import bisect_left, bisect_right
from fractions import Fraction
from operator import itemgetter


def plain_sweep(claims, rule, as_of_day):
    """{claim id: status}, [sorted claim ids of each signal] for the claims of one product, given as
    (id, customer, day, price in ten-thousandths) tuples; `as_of_day` counts days as the claims do."""
    claims = sorted(claims, key=itemgetter(2))
    n = len(claims)
    window, needed = rule.window_days, rule.min_customers
    ratio = 1 + Fraction(rule.tolerance_percent) / 100
    num, den = ratio.numerator, ratio.denominator
    parent = list(range(n))
    corroborated = [False] * n

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    live_prices, live_customers, live_at = [], [], []
    oldest = 0
    for i, (_, customer, day, price) in enumerate(claims):
        while claims[oldest][2] < day - window:
            at = bisect_left(live_prices, claims[oldest][3])
            while live_at[at] != oldest:
                at += 1
            del live_prices[at], live_customers[at], live_at[at]
            oldest += 1
        at = bisect_right(live_prices, price)
        live_prices.insert(at, price)
        live_customers.insert(at, customer)
        live_at.insert(at, i)
        low = bisect_left(live_prices, -((-price * den) // num))
        end = bisect_right(live_prices, price * num // den)
        if end - low < needed:
            continue
        # The run the witnessing boxes starting at low..at cover: from the lowest one's start to the
        # highest one's end (a box needs as many claims as customers before they are counted).
        run_from = run_to = None
        for start in range(low, at + 1):
            top = bisect_right(live_prices, live_prices[start] * num // den, start, end)
            if top - start >= needed and len(set(live_customers[start:top])) >= needed:
                run_from, run_to = start, top
                break
        if run_from is None:
            continue
        for start in range(at, run_from, -1):
            top = bisect_right(live_prices, live_prices[start] * num // den, start, end)
            if top - start >= needed and len(set(live_customers[start:top])) >= needed:
                run_to = top
                break
        root = find(i)
        for j in live_at[run_from:run_to]:
            corroborated[j] = True
            j = find(j)
            if j != root:
                parent[j] = root
    statuses, groups = {}, {}
    last_pending = as_of_day - window
    for i, (pk, _, day, _) in enumerate(claims):
        if corroborated[i]:
            statuses[pk] = "corroborated"
            groups.setdefault(find(i), []).append(pk)
        else:
            statuses[pk] = "pending" if day >= last_pending else "unsubstantiated"
    return statuses, sorted(sorted(group) for group in groups.values())
