"""The code location loads, validates with Dagster's own CLI, and shows every stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow as pa

from financeops_pipeline.imports.records import BANK_STATEMENT_SCHEMA, SCHEMAS
from financeops_pipeline.orchestration.definitions import defs
from financeops_pipeline.orchestration.partitions import tenant_day_partitions

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate_passes():
    env = {**os.environ, "FINANCEOPS_TENANTS": ""}
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_every_stage_is_in_the_graph_grouped_and_partitioned_by_tenant_day():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    for stage_asset, group in {"imports/bank_records": "imports", "imports/processor_records": "imports",
                               "imports/internal_records": "imports", "ledger/journal_entries": "ledger",
                               "recon/three_way_match": "reconciliation", "reports/trial_balance": "reports",
                               "reports/recon_summary": "reports"}.items():
        assert groups[stage_asset] == group
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.partitions_def == tenant_day_partitions, key
        # a range of tenant-days runs as one run (days in date order inside it)
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
    blocking = {key.name for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert {"ledger_balanced", "snapshots_match_postings", "recon_conservation"} <= blocking


def test_no_canonical_record_carries_money_as_float():
    for schema in [*SCHEMAS.values(), BANK_STATEMENT_SCHEMA]:
        floats = [f.name for f in schema if pa.types.is_floating(f.type)]
        assert floats == [], floats
        assert all(f.type == pa.int64() for f in schema if f.name.endswith("_minor"))
