"""Asset checks: the ones that protect money are blocking, so a bad day stops before its reports.

| stage | check | blocking |
|---|---|---|
| imports (each source) | `expectation_suite` (Great Expectations) | yes |
| imports (each source) | `files_fresh`, `quarantined_records` (WARN) | no |
| imports/bank_records | `statement_integrity` (ERROR: does not add up; WARN: a balance missing or derived) | no |
| ledger/journal_entries | `ledger_balanced`, `snapshots_match_postings`, | yes |
| | `no_duplicate_idempotency_keys`, `source_records_posted`, `cash_matches_bank` | yes |
| recon/three_way_match | `recon_conservation` | yes |
| recon/three_way_match | `critical_breaks_on_time` (WARN) | no |
"""


import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg

from financeops_pipeline.orchestration.assets.imports import bank_records, internal_records, processor_records
from financeops_pipeline.orchestration.assets.ledger import journal_entries
from financeops_pipeline.orchestration.assets.reconciliation import three_way_match
from financeops_pipeline.orchestration.partitions import daily_partitions, tenant_day_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource, partition_days, partition_tenants
from financeops_pipeline.quality.checks import CHECKS, run_check, run_checks
from financeops_pipeline.reports.build import markdown_table

CHECKS_AT_ONCE = 2   # a stage's checks evaluated at once (each on its own session)


@dataclass(frozen=True)
class _Check:
    """One asset check: its spec and the function that evaluates it for the run's partition(s)."""

    name: str
    asset: dg.AssetsDefinition | dg.AssetSpec
    blocking: bool
    description: str
    evaluate: Callable[[dg.AssetCheckExecutionContext, FinanceopsResource], dg.AssetCheckResult]
    # checks of one group are evaluated together when selected together (one session, shared work)
    group: str | None = None
    evaluate_group: Callable[[dg.AssetCheckExecutionContext, FinanceopsResource, list["_Check"]],
                             list[dg.AssetCheckResult]] | None = None

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset.key, blocking=self.blocking, description=self.description,
                                 partitions_def=tenant_day_partitions)


def _result(name: str, asset: dg.AssetsDefinition | dg.AssetSpec, severity: dg.AssetCheckSeverity,
            violations: list[dict]) -> dg.AssetCheckResult:
    # A query may grade its rows ('severity': error | warn): warnings alone make the check a WARN.
    level = (dg.AssetCheckSeverity.WARN if violations and all(v.get("severity") == "warn" for v in violations)
             else severity)
    return dg.AssetCheckResult(
        asset_key=asset.key, check_name=name, passed=not violations, severity=level,
        metadata={"violations": len(violations),
                  "details": dg.MetadataValue.md(markdown_table(violations, list(violations[0]))
                                                 if violations else "_none_")},
    )


def _rows_check(name: str, asset: dg.AssetsDefinition | dg.AssetSpec, blocking: bool, severity: dg.AssetCheckSeverity,
                description: str, violations_of: Callable[..., list[dict]]) -> _Check:
    """A check that fails on the rows `violations_of(conn, tenant, day)` returns for any tenant-day of the run."""
    def evaluate(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource) -> dg.AssetCheckResult:
        violations = []
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    violations += [{"tenant": tenant, "day": day.isoformat(), **row}
                                   for row in violations_of(conn, tenant, day)]
        return _result(name, asset, severity, violations)

    return _Check(name, asset, blocking, description, evaluate)


def _sql_check_group(names: list[str], asset: dg.AssetsDefinition | dg.AssetSpec,
                     blocking: bool) -> list[_Check]:
    """SQL checks that share a CTE (`-- include:`): selected together, they run on one session and the CTE is
    computed once (quality.checks.run_checks); each keeps its own key, result and blocking flag."""
    def evaluate_group(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource,
                       checks: list[_Check]) -> list[dg.AssetCheckResult]:
        violations: dict[str, list[dict]] = {c.name: [] for c in checks}
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    for name, rows in run_checks(conn, list(violations), tenant, day,
                                                 archive_dir=financeops.archive_path,
                                                 connect=lambda t=tenant: financeops.tenant_conn(t)).items():
                        violations[name] += [{"tenant": tenant, "day": day.isoformat(), **row} for row in rows]
        return [_result(c.name, c.asset, dg.AssetCheckSeverity.ERROR, violations[c.name]) for c in checks]

    group = "+".join(names)
    return [dataclasses.replace(_sql_check(name, asset, blocking), group=group, evaluate_group=evaluate_group)
            for name in names]


def _sql_check(name: str, asset: dg.AssetsDefinition | dg.AssetSpec, blocking: bool,
               severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR, **params: object) -> _Check:
    return _rows_check(name, asset, blocking, severity, CHECKS[name],
                       lambda conn, tenant, day: run_check(conn, name, tenant, day, **params))


def _freshness_check(asset: dg.AssetsDefinition | dg.AssetSpec, source: str) -> _Check:
    """The day's files of this source arrived by the cut-off (quality/freshness.py); a warning, not a stop."""

    def evaluate(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource) -> dg.AssetCheckResult:
        from financeops_pipeline.quality.freshness import cutoff_time, deadline, late_or_missing

        cutoff = cutoff_time()
        violations, deadlines = [], []
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in partition_days(context):
                    due = deadline(day, daily_partitions.timezone, cutoff)
                    deadlines.append(due.isoformat())
                    violations += [{"tenant": tenant, "day": day.isoformat(), **v}
                                   for v in late_or_missing(conn, tenant, day, source, due)]
        return dg.AssetCheckResult(
            asset_key=asset.key, check_name="files_fresh", passed=not violations,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"cutoff": cutoff.strftime("%H:%M"), "deadline": ", ".join(sorted(set(deadlines))),
                      "violations": len(violations),
                      "details": dg.MetadataValue.md(markdown_table(violations, list(violations[0]))
                                                     if violations else "_none_")},
        )

    return _Check("files_fresh", asset, False,
                  f"Each tenant's {source} files of the day were imported by FINANCEOPS_FRESHNESS_CUTOFF "
                  "(default 08:00) on the next day, partition timezone.", evaluate)


def _expectations_check(asset: dg.AssetsDefinition | dg.AssetSpec, source: str) -> _Check:
    """The source's Great Expectations suite (quality/expectations.py) on the partition's imported rows."""

    def evaluate(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource) -> dg.AssetCheckResult:
        from financeops_pipeline.quality.expectations import SOURCE_TABLE, check_suite

        table = SOURCE_TABLE[source]
        days = partition_days(context)
        failures, rows, evaluated = [], 0, 0
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                outcome = check_suite(conn, table, tenant, days[0], days[-1], financeops.archive_path)
            rows += outcome.rows
            evaluated = max(evaluated, outcome.evaluated)
            failures += [{"tenant": tenant, **f} for f in outcome.failures]
        return dg.AssetCheckResult(
            asset_key=asset.key, check_name="expectation_suite", passed=not failures,
            metadata={"suite": f"{table}_suite", "rows_validated": rows, "expectations": evaluated,
                      "failed_expectations": len(failures),
                      "failures": dg.MetadataValue.md(markdown_table(
                          failures, ["tenant", "expectation", "column", "unexpected_count", "sample"])
                          if failures else "_none_")},
        )

    return _Check("expectation_suite", asset, True,
                  f"Great Expectations suite on the {source} records of the partition: keys, uniqueness, ISO 4217 "
                  "currencies, amount ranges, dates in the partition, allowed values (as SQL in Postgres on a day of "
                  "more than GX_MAX_ROWS records).", evaluate)


def _critical_overdue_check() -> _Check:
    """Critical breaks past their deadline (workbench priorities, workbench.yaml): a warning for the team."""

    def overdue(conn, tenant, day):
        from financeops_pipeline.workbench.views import critical_overdue

        found = critical_overdue(conn, tenant, day)
        conn.rollback()
        return found

    return _rows_check("critical_breaks_on_time", three_way_match, False, dg.AssetCheckSeverity.WARN,
                       "No critical break (priority from amount and age, workbench.yaml) is past its deadline.",
                       overdue)


def _stage_checks(name: str, checks: list[_Check]) -> dg.AssetChecksDefinition:
    """The checks of one stage evaluated in one step (each Dagster step costs a round of event-log writes);
    each keeps its own key, blocking flag and result, and can be run alone (can_subset)."""
    by_key = {dg.AssetCheckKey(c.asset.key, c.name): c for c in checks}

    @dg.multi_asset_check(name=name, specs=[c.spec for c in checks], can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, financeops: FinanceopsResource):
        def failed(key: dg.AssetCheckKey, exc: Exception) -> dg.AssetCheckResult:
            context.log.exception(f"check {key.to_user_string()} raised")
            return dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=False,
                                       metadata={"error": f"{type(exc).__name__}: {exc}"})

        def evaluate(unit: list[_Check]) -> list[dg.AssetCheckResult]:
            try:   # one broken check must not hide the others' results
                if unit[0].evaluate_group is not None:   # a group's check alone too (its record files, sessions)
                    return unit[0].evaluate_group(context, financeops, unit)
                return [unit[0].evaluate(context, financeops)]
            except Exception as exc:
                return [failed(dg.AssetCheckKey(c.asset.key, c.name), exc) for c in unit]

        keys = sorted(context.selected_asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
        units: dict[object, list[_Check]] = {}
        for key in keys:
            check = by_key[key]
            units.setdefault(check.group or key, []).append(check)
        # Two at a time, each on its own session: the checks are queries, and on a big day the server runs two
        # of them on the two cores (the suites of 10M-record tables take seconds each).
        with ThreadPoolExecutor(CHECKS_AT_ONCE, thread_name_prefix=name) as pool:
            for results in pool.map(evaluate, units.values()):
                yield from results

    return _checks


_IMPORTS = [(bank_records, "bank"), (processor_records, "processor"), (internal_records, "internal")]

asset_checks = [
    _stage_checks("import_checks", [
        *[_expectations_check(asset, source) for asset, source in _IMPORTS],
        *[_freshness_check(asset, source) for asset, source in _IMPORTS],
        _sql_check("statement_integrity", bank_records, blocking=False),
        *[_sql_check("quarantined_records", asset, blocking=False, severity=dg.AssetCheckSeverity.WARN,
                     source=source) for asset, source in _IMPORTS],
    ]),
    _stage_checks("ledger_checks", [
        _sql_check("ledger_balanced", journal_entries, blocking=True),
        _sql_check("snapshots_match_postings", journal_entries, blocking=True),
        *_sql_check_group(["no_duplicate_idempotency_keys", "source_records_posted"], journal_entries,
                          blocking=True),
        _sql_check("cash_matches_bank", journal_entries, blocking=True),
    ]),
    _stage_checks("recon_checks", [
        _sql_check("recon_conservation", three_way_match, blocking=True),
        _critical_overdue_check(),
    ]),
]
