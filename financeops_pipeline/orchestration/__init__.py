"""Dagster wiring: thin assets, checks, jobs and schedules around the plain domain modules."""
