"""Assets by stage: imports -> ledger -> reconciliation -> reports."""
