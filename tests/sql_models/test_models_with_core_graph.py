"""SQL models materialized through Dagster together with the core graph (imports -> ledger -> recon -> reports).

One run of 2026-11-02 for both sample tenants, with a folder of models that covers every way a model can go
wrong next to good ones, and asserts what a data engineer sees:

* a model that fails (load error, run-time SQL error, failing blocking test) does not stop the core assets or
  unrelated models; only its own downstream models are skipped;
* both engines read the pipeline's tables as the tenant's role (RLS): `tenant` read from the source equals the
  `{{ tenant }}` being run, and counts are the tenant's own (data_samples/README.md);
* an unpartitioned model (`partitioned: false`) runs in the same daily job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from financeops_pipeline.orchestration import definitions
from financeops_pipeline.orchestration.resources import FinanceopsResource
from financeops_pipeline.orchestration.sql_models import build_sql_models
from tests.conftest import SAMPLES, query
from tests.sql_models.helpers import materialize_day, step_errors

MODELS = {
    # DuckDB over Arrow read as the tenant's role: `tenant` of every source row must be the tenant being run.
    "isolation/seen_duckdb.sql": """/* ---
description: what a DuckDB model can see of imports.processor_lines
tests:
  - expect: {name: only_own_rows, sql: "SELECT * FROM {{ this }} WHERE seen_tenant <> rendered_tenant"}
--- */
SELECT tenant AS seen_tenant, '{{ tenant }}' AS rendered_tenant,
       CAST(count(*) AS BIGINT) AS lines, CAST(sum(gross_minor) AS BIGINT) AS gross_minor
FROM {{ source('imports', 'processor_lines') }}
WHERE business_date = DATE '{{ partition_date }}' AND category <> 'payout'
GROUP BY ALL
""",
    # The same through the postgres engine (runs in Postgres as the tenant's role), header in a sidecar .yml.
    "isolation/seen_postgres.yml": """engine: postgres
tests:
  - expect: {name: only_own_rows, sql: "SELECT * FROM {{ this }} WHERE seen_tenant <> rendered_tenant"}
""",
    "isolation/seen_postgres.sql": """SELECT tenant AS seen_tenant, '{{ tenant }}'::text AS rendered_tenant,
       count(*)::bigint AS transactions
FROM {{ source('imports', 'internal_transactions') }}
WHERE business_date = DATE '{{ partition_date }}'
GROUP BY 1, 2
""",
    "isolation/after_seen.sql": "SELECT seen_tenant, lines FROM {{ ref('seen_duckdb') }}\n",
    # Unpartitioned: one row set per tenant, replaced on every run.
    "isolation/accounts_total.sql": """/* ---
partitioned: false
engine: postgres
--- */
SELECT count(*)::bigint AS accounts FROM {{ source('ledger', 'accounts') }}
""",
    # Load error: ref to a model that does not exist; its downstream model is skipped.
    "bad/broken.sql": "SELECT 1 AS n\nFROM {{ ref('no_such_model') }}\n",
    "bad/after_broken.sql": "SELECT n FROM {{ ref('broken') }}\n",
    # Run-time error (DuckDB binder): a column that does not exist, on file line 3.
    "bad/runtime_bad.sql": "SELECT currency,\n       processor,\n       no_such_column\n"
                           "FROM {{ source('imports', 'processor_lines') }}\n",
    # A failing blocking test stops the model's downstream models.
    "bad/gate.sql": """/* ---
tests:
  - expect: {name: nothing_positive, blocking: true, sql: "SELECT * FROM {{ this }} WHERE n_minor > 0"}
--- */
SELECT CAST(1 AS BIGINT) AS n_minor
""",
    "bad/after_gate.sql": "SELECT n_minor FROM {{ ref('gate') }}\n",
}


@pytest.fixture
def run(tmp_path: Path, db_url: str):
    folder = tmp_path / "models"
    for name, text in MODELS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    _, model_assets, _ = build_sql_models(folder)
    resource = FinanceopsResource(database_url=db_url, data_dir=str(SAMPLES), archive_dir=str(tmp_path / "archive"),
                                  tenants="acme,globex")
    result = materialize_day([*definitions.ALL_ASSETS, *model_assets], "2026-11-02", resource)
    return db_url, result


def test_a_failing_model_stops_only_its_own_downstream(run):
    db_url, result = run
    assert not result.success   # the bad models fail the run ...
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    # ... but every core asset and every unrelated model is materialized.
    core = {k.to_user_string() for a in definitions.ALL_ASSETS for k in a.keys}
    assert core <= materialized, core - materialized
    assert {"models/seen_duckdb", "models/seen_postgres", "models/after_seen", "models/accounts_total",
            "models/gate"} <= materialized
    assert not materialized & {"models/broken", "models/after_broken", "models/runtime_bad", "models/after_gate"}

    errors = step_errors(result)
    assert set(errors) == {"models__broken", "models__runtime_bad", "models__gate"}
    # The gate's rows are written (to inspect them), but its failed blocking test fails the step.
    assert "blocking asset check failed" in errors["models__gate"] and "models/gate: nothing_positive" in (
        errors["models__gate"])
    assert "models/bad/broken.sql:2: ref('no_such_model') names no model" in errors["models__broken"]
    # DuckDB's binder gives no position: the line is the first naming the column.
    assert ('models/bad/runtime_bad.sql:3: SQL error: Binder Error: Referenced column "no_such_column" not found'
            in errors["models__runtime_bad"])
    # Downstream of a failure: never started ("Dependencies for step ... failed. Not executing.").
    for step in ("models__after_broken", "models__after_gate"):
        assert not any(e.is_step_start or e.is_step_success for e in result.events_for_node(step)), step

    checks = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    gate = checks[("models/gate", "nothing_positive")]
    assert not gate.passed and gate.metadata["failing_rows"].value == 2   # one row per tenant
    assert checks[("models/seen_duckdb", "only_own_rows")].passed
    assert checks[("models/seen_postgres", "only_own_rows")].passed


def test_models_read_only_the_tenants_rows_in_both_engines(run):
    db_url, _ = run
    # data_samples/README.md, 11-02: acme 5 Stripe lines (gross 239.99) + 2 Adyen (230.00) = 7 lines, 469.99;
    # globex 6 Adyen lines, 530.00. Internal transactions: acme 8, globex 6.
    assert query(db_url, "SELECT tenant, seen_tenant, rendered_tenant, lines, gross_minor FROM models.seen_duckdb"
                         " ORDER BY 1") == [("acme", "acme", "acme", 7, 46999),
                                            ("globex", "globex", "globex", 6, 53000)]
    assert query(db_url, "SELECT tenant, seen_tenant, rendered_tenant, transactions FROM models.seen_postgres"
                         " ORDER BY 1") == [("acme", "acme", "acme", 8), ("globex", "globex", "globex", 6)]
    assert query(db_url, "SELECT tenant, seen_tenant, lines FROM models.after_seen ORDER BY 1") == [
        ("acme", "acme", 7), ("globex", "globex", 6)]
    # Unpartitioned: no business_date column, one row per tenant (the chart of accounts each tenant sees).
    assert query(db_url, "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'models'"
                         " AND table_name = 'accounts_total' ORDER BY ordinal_position") == [("tenant",), ("accounts",)]
    accounts = dict(query(db_url, "SELECT tenant, count(*) FROM ledger.accounts GROUP BY 1"))
    assert dict(query(db_url, "SELECT tenant, accounts FROM models.accounts_total")) == accounts
    assert set(accounts) == {"acme", "globex"}
