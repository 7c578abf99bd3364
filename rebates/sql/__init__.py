"""Raw SQL of the rebates app, one module per service: every statement and what it returns."""
