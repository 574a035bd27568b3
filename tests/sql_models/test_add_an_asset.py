"""README "Add an asset", step by step, with the model file taken from the README itself.

1. the file goes in a temporary models folder (FINANCEOPS_SQL_MODELS_DIR, as the code location reads it);
2. the one listing command shows it with its dependencies and tests;
3. the `dagster` CLI loading the code location module (workspace.yaml's) shows it in the lineage graph under
   imports/processor_records, and `financeops run --date 2026-11-02` materializes it and runs its checks.
Every step runs in a subprocess, so the definitions really load the folder (nothing is built by the test).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

from tests.conftest import ROOT, SAMPLES, query

BIN = Path(sys.executable).parent
MODULE = "financeops_pipeline.orchestration.definitions"


def _readme_model() -> tuple[str, str]:
    """(relative path, SQL) of the model the README's "Add an asset" guide drops."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = text.split("### Add an asset", 1)[1]
    match = re.search(r"`dbt_like_sql/([\w/]+\.sql)`:\s*```sql\n(.*?)\n\s*```", guide, re.DOTALL)
    assert match, "README: the Add an asset guide names a file and shows its SQL"
    lines = match.group(2).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return match.group(1), "\n".join(line[indent:] for line in lines) + "\n"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=600)


def test_add_an_asset_by_dropping_a_file(tmp_path, pg_target, db_url):
    relative, sql = _readme_model()
    assert relative == "finance/stripe_gross.sql"
    models = tmp_path / "dbt_like_sql"
    (models / relative).parent.mkdir(parents=True)
    (models / relative).write_text(sql, encoding="utf-8")
    env = {**os.environ, "FINANCEOPS_SQL_MODELS_DIR": str(models), "DATABASE_URL": db_url,
           "FINANCEOPS_HOME": str(tmp_path / "home"), "FINANCEOPS_DATA_DIR": str(SAMPLES), "FINANCEOPS_TENANTS": ""}

    # 2. The one command: the model, its dependency and its tests.
    listing = _run([sys.executable, "-m", "financeops_pipeline.sql_models"], env)
    assert listing.returncode == 0, listing.stderr
    assert "models/stripe_gross [ok] duckdb daily group=models (dbt_like_sql/finance/stripe_gross.sql)" in (
        listing.stdout)
    assert "deps: imports/processor_records" in listing.stdout
    assert "tests: not_null, unique__currency" in listing.stdout

    # 3. The lineage graph of the code location: the model and its parent in the core graph.
    lineage = _run([str(BIN / "dagster"), "asset", "list", "-m", MODULE, "--select", '+key:"models/stripe_gross"'],
                   env)
    assert lineage.returncode == 0, lineage.stderr
    assert lineage.stdout.split() == ["imports/processor_records", "models/stripe_gross"]

    # ... and the daily run materializes it with the day.
    run = _run([str(BIN / "financeops"), "run", "--date", "2026-11-02", "--tenant", "acme"], env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAILED" not in run.stdout
    # data_samples/README.md, acme 11-02: Stripe gross 40.00 + 100.00 + 20.00 - 20.00 + 99.99 = 239.99 USD
    # (the payout line excluded).
    assert query(db_url, "SELECT tenant, business_date::text, currency, gross_minor FROM models.stripe_gross") == [
        ("acme", "2026-11-02", "USD", 23999)]

    # Its tests ran as asset checks of the run(s), recorded in the Dagster instance, and passed.
    instance_env = {"DAGSTER_PG_URL": pg_target.sqlalchemy_url("dagster")}
    os.environ.update(instance_env)
    try:
        with dg.DagsterInstance.from_config(str(tmp_path / "home" / "dagster_home")) as instance:
            for name in ("not_null", "unique__currency"):
                key = dg.AssetCheckKey(dg.AssetKey(["models", "stripe_gross"]), name)
                history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
                assert history, name
                assert {r.status.value for r in history} == {"SUCCEEDED"}, name
    finally:
        for name in instance_env:
            os.environ.pop(name, None)
