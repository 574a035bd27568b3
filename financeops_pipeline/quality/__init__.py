"""Data-quality checks as plain SQL over Postgres; Dagster asset checks wrap them."""
