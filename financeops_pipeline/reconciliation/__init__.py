"""Three-way reconciliation (internal <-> processor <-> payout <-> bank), computed in DuckDB."""
