"""Plumbing shared by every REST endpoint: the error shape, idempotency, throttling, pagination, permissions."""
