"""Loading SQL models: header, dependencies and lineage, and a clear error (file:line) for each bad model.

No database: these tests read model folders and build Dagster definitions only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from financeops_pipeline.orchestration.resources import FinanceopsResource, default_resources
from financeops_pipeline.orchestration.sql_models import build_sql_models, sql_model_definitions
from financeops_pipeline.sql_models import load_project
from financeops_pipeline.sql_models.model import SOURCES
from tests.sql_models.helpers import materialize_day

GOOD = """/* ---
description: Stripe gross per day.
group: scratch
owners: [team:finance]
tests:
  - not_null: [gross_minor]
--- */
SELECT CAST(sum(gross_minor) AS BIGINT) AS gross_minor
FROM {{ source('imports', 'processor_lines') }}
WHERE business_date = DATE '{{ partition_date }}'
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _error(folder: Path, name: str) -> str:
    model = load_project(folder).models[name]
    assert not model.valid
    return str(model.error)


def test_shipped_models_load_and_their_sources_are_core_assets():
    from financeops_pipeline.orchestration.definitions import defs

    project = load_project()
    assert project.errors == []
    assert {"daily_settlement_summary", "fee_rate_by_processor", "unreconciled_exposure_by_age",
            "pending_payouts", "cash_forecast"} <= set(project.models)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    # Every source maps to an asset of the core graph, so lineage connects.
    for asset_keys in SOURCES.values():
        for key in asset_keys:
            assert "/".join(key) in keys, key
    node = graph.get(dg.AssetKey(["models", "fee_rate_by_processor"]))
    assert {k.to_user_string() for k in node.parent_keys} == {"models/daily_settlement_summary",
                                                              "imports/processor_records"}
    assert {k.to_user_string() for k in graph.get(dg.AssetKey(["models", "cash_forecast"])).parent_keys} == {
        "models/pending_payouts"}
    # Tests became asset checks, and the models are in the daily job (AssetSelection.all()).
    checks = {k.name for k in graph.asset_check_keys if k.asset_key == dg.AssetKey(["models", "cash_forecast"])}
    assert checks == {"not_null", "unique__currency__forecast_date", "forecast_equals_pending_payouts"}
    job = defs.resolve_job_def("daily_close")
    assert dg.AssetKey(["models", "cash_forecast"]) in job.asset_layer.selected_asset_keys


def test_dropped_files_join_the_asset_graph(tmp_path, monkeypatch):
    """Dropped files (one refs the other) are listed and become assets with their deps and checks (in process;
    test_add_an_asset.py runs the README guide end to end)."""
    _write(tmp_path, {"scratch/stripe_gross.sql": GOOD,
                      "scratch/stripe_gross_doubled.sql":
                          "SELECT 2 * gross_minor AS gross_minor FROM {{ ref('stripe_gross') }}\n"})
    monkeypatch.setenv("FINANCEOPS_SQL_MODELS_DIR", str(tmp_path))

    listing = subprocess.run([sys.executable, "-m", "financeops_pipeline.sql_models"], capture_output=True,
                             text=True, check=False)
    assert listing.returncode == 0, listing.stderr
    assert "models/stripe_gross [ok] duckdb daily group=scratch" in listing.stdout
    assert "deps: models/stripe_gross" in listing.stdout

    from financeops_pipeline.orchestration import definitions

    core = dg.Definitions(assets=definitions.ALL_ASSETS, resources=default_resources())
    defs = dg.Definitions.merge(core, sql_model_definitions())   # no argument: FINANCEOPS_SQL_MODELS_DIR
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["models", "stripe_gross"]))
    assert node.parent_keys == {dg.AssetKey(["imports", "processor_records"])}
    assert node.group_name == "scratch"
    assert graph.get(dg.AssetKey(["models", "stripe_gross_doubled"])).parent_keys == {
        dg.AssetKey(["models", "stripe_gross"])}
    assert dg.AssetCheckKey(dg.AssetKey(["models", "stripe_gross"]), "not_null") in graph.asset_check_keys


def test_a_sidecar_yml_header(tmp_path):
    """The header may sit next to the model in <name>.yml; its errors name the .yml file and line."""
    _write(tmp_path, {
        "gross.sql": GOOD,
        "fees.sql": "SELECT sum(fee_minor)::bigint AS fee_minor\nFROM {{ source('imports', 'processor_lines') }}\n",
        "fees.yml": "description: Fees per day.\ngroup: scratch\nowners: [team:finance]\nengine: postgres\n"
                    "tests:\n  - not_null: [fee_minor]\n"
                    "  - relationships: {column: fee_minor, to: \"ref('gross')\", field: gross_minor}\n",
        "bad_key.sql": "SELECT 1 AS n\n", "bad_key.yml": "description: x\nschedule: daily\n",
        "bad_ref.sql": "SELECT 1 AS n\n",
        "bad_ref.yml": "tests:\n  - not_null: [n]\n  - expect: {name: e, sql: \"SELECT * FROM {{ ref('nope') }}\"}\n",
        "both.sql": GOOD, "both.yml": "description: x\n",
    })
    project = load_project(tmp_path)
    fees = project.models["fees"]
    assert fees.valid, fees.error
    assert (fees.description, fees.group, fees.owners, fees.engine) == ("Fees per day.", "scratch",
                                                                        ("team:finance",), "postgres")
    assert [(t.name, t.line) for t in fees.tests] == [("not_null", 6), ("relationships__fee_minor", 7)]
    assert fees.upstream_models == ["gross"] and fees.upstream_source_keys == [("imports", "processor_records")]
    f = tmp_path.name
    assert _error(tmp_path, "bad_key").startswith(f"{f}/bad_key.yml:2: unknown header key 'schedule'")
    assert _error(tmp_path, "bad_ref") == f"{f}/bad_ref.yml:3: ref('nope') names no model (models: " + ", ".join(
        sorted(project.models)) + ")"
    assert _error(tmp_path, "both") == f"{f}/both.yml:1: the header is both here and in {f}/both.sql: keep one"

    _, assets, _ = build_sql_models(tmp_path)
    asset = next(a for a in assets if a.key == dg.AssetKey(["models", "fees"]))
    assert asset.group_names_by_key[asset.key] == "scratch"
    assert [(c.name, c.description) for c in asset.check_specs] == [
        ("not_null", f"not_null ({f}/fees.yml:6); no rows = pass"),
        ("relationships__fee_minor", f"relationships ({f}/fees.yml:7); no rows = pass")]
    relationships = next(c for c in asset.check_specs if c.name == "relationships__fee_minor")
    assert [d.asset_key for d in relationships.additional_deps] == [dg.AssetKey(["models", "gross"])]


def test_ref_to_a_missing_model_names_file_and_line(tmp_path):
    _write(tmp_path, {"a.sql": "SELECT 1 AS n\nFROM {{ ref('a_typo') }}\n", "b.sql": "SELECT 1 AS n\n"})
    assert _error(tmp_path, "a") == f"{tmp_path.name}/a.sql:2: ref('a_typo') names no model (models: a, b)"
    assert load_project(tmp_path).models["b"].valid


def test_a_dependency_cycle_is_listed(tmp_path):
    _write(tmp_path, {
        "a.sql": "SELECT n FROM {{ ref('c') }}\n",
        "b.sql": "-- comment\nSELECT n FROM {{ ref('a') }}\n",
        "c.sql": "SELECT n FROM\n\n{{ ref('b') }}\n",
        "d.sql": "SELECT n FROM {{ ref('a') }}\n",   # downstream of the cycle, not on it
    })
    project = load_project(tmp_path)
    folder = tmp_path.name
    assert str(project.models["a"].error) == (
        f"{folder}/a.sql:1: dependency cycle: a -> c -> b -> a "
        f"(refs at {folder}/a.sql:1, {folder}/c.sql:3, {folder}/b.sql:2)")
    assert "dependency cycle: a -> c -> b -> a" in str(project.models["b"].error)
    assert "dependency cycle" in str(project.models["c"].error)
    assert project.models["d"].valid


def test_sql_syntax_error_names_the_file_line(tmp_path):
    _write(tmp_path, {"bad.sql": GOOD.replace("FROM {{ source", "FORM {{ source")})
    # The header takes lines 1-7: body line 2 ("FORM ...") is file line 9.
    assert _error(tmp_path, "bad") == (f'{tmp_path.name}/bad.sql:9: SQL error: Parser Error: syntax error at or '
                                       'near "FORM"')


def test_header_errors_name_the_line(tmp_path):
    _write(tmp_path, {
        "yaml.sql": "/* ---\ndescription: x\ntests: [\n--- */\nSELECT 1 AS n\n",
        "key.sql": "/* ---\ndescription: x\nschedule: daily\n--- */\nSELECT 1 AS n\n",
        "open.sql": "/* ---\ndescription: x\nSELECT 1 AS n\n",
        "engine.sql": "/* ---\nengine: spark\n--- */\nSELECT 1 AS n\n",
        "test.sql": "/* ---\ntests:\n  - not_null: [a]\n  - unique_ish: [a]\n--- */\nSELECT 1 AS a\n",
        "src.sql": "SELECT 1 AS n\nFROM {{ source('ledger', 'secrets') }}\n",
        "two.sql": "SELECT 1 AS n; SELECT 2 AS n\n",
        "jinja.sql": "SELECT 1 AS n\n{{ ref('a' }}\n",
        "sandbox.sql": "SELECT '{{ ref.__globals__ }}' AS n\n",
    })
    f = tmp_path.name
    assert _error(tmp_path, "yaml").startswith(f"{f}/yaml.sql:4: header is not valid YAML")
    assert _error(tmp_path, "key").startswith(f"{f}/key.sql:3: unknown header key 'schedule'")
    assert _error(tmp_path, "open") == f"{f}/open.sql:1: header '/* ---' is never closed by a line '--- */'"
    assert _error(tmp_path, "engine").startswith(f"{f}/engine.sql:2: engine must be one of duckdb, postgres")
    assert _error(tmp_path, "test").startswith(f"{f}/test.sql:4: a test is one of not_null, unique")
    assert _error(tmp_path, "src").startswith(f"{f}/src.sql:2: source('ledger', 'secrets') is not a pipeline table")
    assert _error(tmp_path, "two").startswith(f"{f}/two.sql:1: a model is exactly one SELECT statement")
    assert _error(tmp_path, "jinja").startswith(f"{f}/jinja.sql:2: template syntax error")
    assert "template error" in _error(tmp_path, "sandbox")   # the sandbox refuses internals


def test_an_invalid_model_becomes_a_failing_asset_and_the_rest_loads(tmp_path):
    _write(tmp_path, {"good.sql": GOOD, "broken.sql": "SELECT 1 AS n FROM {{ ref('nope') }}\n",
                      "after_broken.sql": "SELECT n FROM {{ ref('broken') }}\n"})
    project, assets, checks = build_sql_models(tmp_path)
    by_key = {a.key.to_user_string(): a for a in assets}
    assert set(by_key) == {"models/good", "models/broken", "models/after_broken"}
    broken = by_key["models/broken"]
    assert broken.descriptions_by_key[broken.key].startswith("INVALID SQL model: ")
    assert f"{tmp_path.name}/broken.sql:1: ref('nope') names no model" in str(
        broken.metadata_by_key[broken.key]["error"])
    assert checks == []   # tests are check specs of their asset
    assert [c.name for c in by_key["models/good"].check_specs] == ["not_null"]

    # The whole location still loads with the core graph, and the job runs everything else.
    from financeops_pipeline.orchestration import definitions

    defs = dg.Definitions.merge(dg.Definitions(assets=definitions.ALL_ASSETS, resources=default_resources()),
                                dg.Definitions(assets=assets, asset_checks=checks))
    assert dg.AssetKey(["models", "good"]) in defs.resolve_asset_graph().get_all_asset_keys()

    unused = FinanceopsResource(database_url="unused", data_dir="unused", archive_dir="unused", tenants="acme")
    result = materialize_day([broken], "2026-11-02", unused)   # fails before any query
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"SQL model {tmp_path.name}/broken.sql is invalid: {tmp_path.name}/broken.sql:1: ref('nope')" in (
        failure.step_failure_data.error.message + str(failure.step_failure_data.user_failure_data.description))


def test_listing_exits_non_zero_on_a_bad_model(tmp_path):
    _write(tmp_path, {"broken.sql": "SELECT 1 AS n FROM {{ ref('nope') }}\n"})
    listing = subprocess.run([sys.executable, "-m", "financeops_pipeline.sql_models", str(tmp_path)],
                             capture_output=True, text=True, check=False)
    assert listing.returncode == 1
    assert "models/broken [INVALID]" in listing.stdout
    assert "broken.sql:1: ref('nope') names no model" in listing.stderr


@pytest.mark.parametrize("name", ["Bad-Name", "9lives"])
def test_model_names_are_sql_identifiers(tmp_path, name):
    _write(tmp_path, {f"{name}.sql": "SELECT 1 AS n\n"})
    project = load_project(tmp_path)
    assert "must match" in str(project.errors[0])
