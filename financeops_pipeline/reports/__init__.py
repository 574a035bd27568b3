"""Financial reports computed in Postgres from the ledger snapshots and reconciliation tables."""
