"""The comparison floor of the market signal benchmark: a plain Python sweep, written the straightforward way.

For every claim in date order, take the claims of the window that starts on its date, sort them by price,
and slide a box of the tolerance over them, counting distinct customers with a Counter; a box with enough
of them witnesses: its claims are corroborated and joined in a union-find. Decimals and dates as stored.
It gives the same statuses and signals as pricing_signals.detection (the benchmark checks that), in
O(n * m log m) for n claims with m in a window, where detection keeps one sorted window as it slides.
"""

from collections import Counter
from datetime import timedelta


def plain_sweep(claims, rule, as_of):
    """{claim id: status}, [sorted claim ids of each signal] for the claims of one product."""
    claims = sorted(claims, key=lambda c: c.reported_on)
    window = timedelta(days=rule.window_days)
    top = 1 + rule.tolerance_percent / 100
    parent = {c.id: c.id for c in claims}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    corroborated = set()
    end = 0
    for start, first in enumerate(claims):
        while end < len(claims) and claims[end].reported_on <= first.reported_on + window:
            end += 1
        in_window = sorted(claims[start:end], key=lambda c: c.price)
        customers = Counter()
        high = 0
        for low in range(len(in_window)):
            limit = in_window[low].price * top
            while high < len(in_window) and in_window[high].price <= limit:
                customers[in_window[high].customer] += 1
                high += 1
            if len(customers) >= rule.min_customers:
                root = find(in_window[low].id)
                for c in in_window[low:high]:
                    corroborated.add(c.id)
                    other = find(c.id)
                    if other != root:
                        parent[other] = root
            customers[in_window[low].customer] -= 1
            if not customers[in_window[low].customer]:
                del customers[in_window[low].customer]
    statuses, groups = {}, {}
    for c in claims:
        if c.id in corroborated:
            statuses[c.id] = "corroborated"
            groups.setdefault(find(c.id), []).append(c.id)
        elif as_of <= c.reported_on + window:
            statuses[c.id] = "pending"
        else:
            statuses[c.id] = "unsubstantiated"
    return statuses, sorted(sorted(group) for group in groups.values())
