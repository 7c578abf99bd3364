"""The customers app's REST endpoints."""
