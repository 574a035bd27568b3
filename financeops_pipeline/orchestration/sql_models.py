"""SQL models as Dagster assets: one asset per `.sql` file, one asset check per test in its header.

Built by factory functions from the loaded project (financeops_pipeline.sql_models), so adding a model is
dropping a file in dbt_like_sql/ (or FINANCEOPS_SQL_MODELS_DIR). An invalid model never breaks the code
location: it still becomes an asset (key models/<name>), described as INVALID with its error, that fails
with that error (file:line) when materialized; the error is also logged when the definitions load.
Models depending on it are skipped by Dagster as usual; unrelated assets run.
"""


import hashlib
import logging
from pathlib import Path

import dagster as dg

from financeops_pipeline.orchestration.partitions import tenant_day_partitions
from financeops_pipeline.orchestration.resources import FinanceopsResource, partition_days, partition_tenants
from financeops_pipeline.reports.build import markdown_table
from financeops_pipeline.sql_models import ModelError, Project, SqlModel, load_project
from financeops_pipeline.sql_models.model import ModelTest

log = logging.getLogger("financeops.sql_models")


def model_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["models", name])


def _days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, model: SqlModel) -> list:
    return partition_days(context) if model.partitioned else [None]


def _common(model: SqlModel) -> dict:
    return {
        "key": model_key(model.name),
        "group_name": model.group,
        "partitions_def": tenant_day_partitions if model.partitioned else None,
        "backfill_policy": dg.BackfillPolicy.single_run() if model.partitioned else None,
        "code_version": hashlib.sha256(
            (model.text + (model.header_text if model.header_path else "")).encode()).hexdigest()[:16],
        "owners": list(model.owners) or None,
    }


def _check_spec(model: SqlModel, test: ModelTest) -> dg.AssetCheckSpec:
    extra = [model_key(r.name) for r in model.refs if (r.path, r.line) == (model.header_file, test.line)]
    return dg.AssetCheckSpec(
        test.name, asset=model_key(model.name), blocking=test.blocking, additional_deps=extra or None,
        description=test.description or f"{test.kind} ({model.header_file}:{test.line}); no rows = pass")


def _run_tests(context: dg.AssetExecutionContext, financeops: FinanceopsResource,
               model: SqlModel) -> list[dg.AssetCheckResult]:
    """Each test of the header as the tenant's role over the rows just written: no failing rows = pass."""
    from financeops_pipeline.sql_models.runner import run_test

    results = []
    for test in model.tests:
        failing = []
        for tenant in partition_tenants(context, financeops):
            with financeops.tenant_conn(tenant) as conn:
                for day in _days(context, model):
                    count, rows = run_test(conn, model, test, tenant, day)
                    if count:
                        failing += [{"tenant": tenant, "day": str(day or ""), **r} for r in rows]
                        context.log.warning(f"[{tenant} {day}] {model.name}.{test.name}: {count} failing rows")
        results.append(dg.AssetCheckResult(
            check_name=test.name, asset_key=model_key(model.name), passed=not failing,
            severity=dg.AssetCheckSeverity.WARN if test.severity == "warn" else dg.AssetCheckSeverity.ERROR,
            metadata={"failing_rows": len(failing), "test": f"{model.header_file}:{test.line}",
                      "details": dg.MetadataValue.md(markdown_table(failing, list(failing[0]))
                                                     if failing else "_none_")},
        ))
    return results


def _model_asset(model: SqlModel) -> dg.AssetsDefinition:
    """One asset per model; its tests are asset checks evaluated in the same step, right after the write
    (one step per model keeps a daily run short; blocking tests still stop downstream models)."""
    from financeops_pipeline.sql_models.runner import materialize

    deps = [model_key(n) for n in model.upstream_models] + [dg.AssetKey(list(k)) for k in model.upstream_source_keys]

    @dg.asset(
        **_common(model), deps=deps, kinds={"duckdb", "postgres"} if model.engine == "duckdb" else {"postgres"},
        description=(model.description or f"SQL model {model.relative_path}") + f"\n\nSource: `{model.relative_path}`",
        metadata={"table": model.table, "file": model.relative_path, "engine": model.engine,
                  "sql": dg.MetadataValue.md(f"```sql\n{model.body.strip()}\n```")},
        check_specs=[_check_spec(model, t) for t in model.tests] or None,
    )
    def _asset(context: dg.AssetExecutionContext, financeops: FinanceopsResource) -> dg.MaterializeResult:
        runs = []
        for tenant in partition_tenants(context, financeops):
            for day in _days(context, model):
                run = materialize(financeops.database_url, model, tenant, day, financeops.archive_path)
                context.log.info(f"[{tenant} {day or 'all'}] {model.table}: {run.rows} rows")
                runs.append(run)
        preview = [row for r in runs for row in r.preview]
        columns = runs[0].columns if runs else []
        return dg.MaterializeResult(
            metadata={"dagster/row_count": sum(r.rows for r in runs),
                      "preview": dg.MetadataValue.md(markdown_table(preview, columns))},
            check_results=_run_tests(context, financeops, model),
        )

    return _asset


def _invalid_asset(model: SqlModel) -> dg.AssetsDefinition:
    errors = [model.error, *model.extra_errors]
    message = "; ".join(str(e) for e in errors)
    common = _common(model)
    common["partitions_def"] = tenant_day_partitions   # runs (and fails) with the daily job
    common["backfill_policy"] = dg.BackfillPolicy.single_run()
    common["owners"] = None

    @dg.asset(
        **common, deps=[model_key(r.name) for r in model.refs if r.name != model.name],
        description=f"INVALID SQL model: {message}", metadata={"file": model.relative_path, "error": message},
        tags={"financeops/invalid_model": "true"},
    )
    def _asset(context: dg.AssetExecutionContext) -> None:
        raise dg.Failure(description=f"SQL model {model.relative_path} is invalid: {message}",
                         metadata={"file": model.relative_path, "error": message})

    return _asset


def build_sql_models(models_dir: Path | None = None) -> tuple[Project, list[dg.AssetsDefinition],
                                                                list[dg.AssetChecksDefinition]]:
    """Assets of every model under models_dir (default FINANCEOPS_SQL_MODELS_DIR or dbt_like_sql/).

    Tests are check specs of their asset; the separate checks list is kept for definitions.py (empty today).
    """
    project = load_project(models_dir)
    assets, checks = [], []
    for model in project.ordered():
        if model.valid:
            try:
                assets.append(_model_asset(model))
                continue
            except dg.DagsterError as exc:    # e.g. something Dagster refuses in the header
                model.fail(1, f"Dagster refused the model: {exc}")
        for err in [model.error, *model.extra_errors]:
            log.error("invalid SQL model %s", err)
        assets.append(_invalid_asset(model))
    return project, assets, checks


def sql_model_definitions(models_dir: Path | None = None) -> dg.Definitions:
    _, assets, checks = build_sql_models(models_dir)
    return dg.Definitions(assets=assets, asset_checks=checks)


SQL_PROJECT, SQL_MODEL_ASSETS, SQL_MODEL_CHECKS = build_sql_models()

__all__ = ["SQL_MODEL_ASSETS", "SQL_MODEL_CHECKS", "SQL_PROJECT", "ModelError", "build_sql_models",
           "sql_model_definitions"]
