"""The rebates app's REST endpoints: products, programs, agreements, purchases, accruals, runs, settlements."""
