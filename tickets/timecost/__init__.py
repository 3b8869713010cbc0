"""Time and cost: hourly rates, billable time, the time report (JSON, CSV, chart)."""
