"""The pricing_signals app's REST endpoints: price claims and market signals."""
