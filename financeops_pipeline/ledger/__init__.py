"""The double-entry ledger: chart of accounts, posting rules and bulk posting into Postgres."""
