"""Running models against a real Postgres: failing tests become failed asset checks, runtime errors name the
file and line, a bad model fails alone, and tenant isolation holds on the model tables."""

from __future__ import annotations

import psycopg
import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.orchestration.resources import FinanceopsResource
from financeops_pipeline.orchestration.sql_models import build_sql_models
from tests.conftest import SAMPLES
from tests.sql_models.helpers import materialize_day, step_errors

MODELS = {
    "dup.sql": """/* ---
description: two rows with the same key, so some tests fail
tests:
  - not_null: [a]
  - unique: [a]
  - accepted_values: {column: a, values: [y]}
  - expect: {name: small_amounts, sql: "SELECT * FROM {{ this }} WHERE n_minor > 1"}
--- */
SELECT 'x' AS a, CAST(1 AS BIGINT) AS n_minor
UNION ALL
SELECT 'x', CAST(2 AS BIGINT)
""",
    "pg_bad.sql": """/* ---
engine: postgres
--- */
SELECT account_code
FROM {{ source('ledger', 'accounts') }}
WHERE no_such_column = 1
""",
    "floaty.sql": "SELECT CAST(1.5 AS DOUBLE) AS rate\n",
    "hugeint.sql": "SELECT sum(x) AS total_minor FROM (SELECT CAST(1 AS BIGINT) AS x)\n",
    "pg_ok.sql": """/* ---
engine: postgres
tests:
  - unique: [account_code]
  - relationships: {column: account_code, to: "source('ledger', 'accounts')", field: account_code}
--- */
SELECT account_code, count(*)::bigint AS n FROM {{ source('ledger', 'accounts') }} GROUP BY 1
""",
}


def _materialize(tmp_path, db_url, names):
    folder = tmp_path / "models"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(MODELS[name], encoding="utf-8")
    _, assets, checks = build_sql_models(folder)
    resource = FinanceopsResource(database_url=db_url, data_dir=str(SAMPLES), archive_dir=str(tmp_path / "archive"),
                                  tenants="acme,globex")
    return folder, materialize_day([*assets, *checks], "2026-11-02", resource)


@pytest.fixture
def run(tmp_path, db_url):
    return _materialize(tmp_path, db_url, list(MODELS))


def test_failing_tests_are_failed_checks_and_errors_name_file_and_line(run, db_url):
    folder, result = run
    checks = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert {k: v.passed for k, v in checks.items() if k[0] == "dup"} == {
        ("dup", "not_null"): True, ("dup", "unique__a"): False, ("dup", "accepted_values__a"): False,
        ("dup", "small_amounts"): False}
    # Two tenants, one duplicated key each; the failing rows are in the metadata.
    assert checks[("dup", "unique__a")].metadata["failing_rows"].value == 2
    assert checks[("pg_ok", "unique__account_code")].passed
    assert checks[("pg_ok", "relationships__account_code")].passed

    failures = step_errors(result)
    assert set(failures) == {"models__pg_bad", "models__floaty", "models__hugeint"}
    assert "models/pg_bad.sql:6: SQL error: column \"no_such_column\" does not exist" in failures["models__pg_bad"]
    assert "models/floaty.sql:1: column 'rate' is floating point" in failures["models__floaty"]
    assert "CAST(sum(x) AS BIGINT)" in failures["models__hugeint"]
    # Unrelated models ran.
    assert result.is_node_success("models__dup") and result.is_node_success("models__pg_ok")


def test_model_tables_are_isolated_per_tenant(tmp_path, db_url):
    _, result = _materialize(tmp_path, db_url, ["dup.sql"])
    assert result.success
    with psycopg.connect(db_url) as owner:
        assert owner.execute("SELECT tenant, count(*) FROM models.dup GROUP BY 1 ORDER BY 1").fetchall() == [
            ("acme", 2), ("globex", 2)]
        # Owned by the owner (a tenant role owning it would bypass RLS), with RLS on.
        owner_name, rls = owner.execute("SELECT tableowner, rowsecurity FROM pg_tables"
                                        " WHERE schemaname = 'models' AND tablename = 'dup'").fetchone()
        assert owner_name == owner.execute("SELECT current_user").fetchone()[0] and rls
        # No floating point column in any model table.
        assert owner.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'models'"
                             " AND data_type IN ('real', 'double precision')").fetchone()[0] == 0
    with tenant_connection(db_url, "globex") as conn:
        assert conn.execute("SELECT DISTINCT tenant FROM models.dup").fetchall() == [("globex",)]
        assert conn.execute("SELECT count(*) FROM models.dup WHERE tenant = 'acme'").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):   # RLS WITH CHECK
            conn.execute("INSERT INTO models.dup (tenant, business_date, a, n_minor)"
                         " VALUES ('acme', '2026-11-02', 'z', 1)")
        conn.rollback()
        conn.execute("DELETE FROM models.dup WHERE tenant = 'acme'")   # deletes nothing: not visible
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):   # tenants run no DDL in schema models
            conn.execute("CREATE TABLE models.sneaky (tenant text)")
        conn.rollback()
    with psycopg.connect(db_url) as owner:
        assert owner.execute("SELECT count(*) FROM models.dup WHERE tenant = 'acme'").fetchone()[0] == 2
