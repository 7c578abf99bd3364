"""The account manager's outlook: each customer's value and risk, the contact plan, and what to do today.

An edge app: it reads customers, rebates and market signals together, so neither of those imports it.
"""
