"""A partition-range backfill launched through the webserver's GraphQL API with the mutation the UI sends,
executed by the daemon, and checked in the ledger and reconciliation tables.

Partition names come from the loaded code location (the asset's `partitionKeysByDimension`), so the test holds
for daily partitions and for day x tenant multi-partitions alike. Expected figures are worked out by hand from
data_samples/README.md (arithmetic in the comments).
"""

from __future__ import annotations

import time

import dagster as dg

from tests.conftest import query

FIRST_DAY, LAST_DAY = "2026-11-02", "2026-11-04"
STAGE_GROUPS = {"imports", "ledger", "reconciliation", "reports"}
BACKFILL_TIMEOUT_S = 600
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

ASSET_NODES = "query { assetNodes { assetKey { path } groupName isPartitioned } }"
PARTITION_KEYS = """
query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename
  ... on AssetNode { partitionKeysByDimension { name type partitionKeys } } } }
"""
# The UI's "Launch backfill" for a selection of assets and partitions (LaunchAssetChoosePartitionsDialog).
LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) { __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
  ... on PartitionBackfill { status numPartitions
        runs(limit: 100) { runId status startTime endTime tags { key value } } }
  ... on PythonError { message } } }
"""


def stage_asset_keys(stack) -> list[list[str]]:
    nodes = stack.graphql(ASSET_NODES)["assetNodes"]
    keys = [n["assetKey"]["path"] for n in nodes if n["groupName"] in STAGE_GROUPS and n["isPartitioned"]]
    assert {tuple(k) for k in keys} >= {("imports", "bank_records"), ("ledger", "journal_entries"),
                                          ("recon", "three_way_match"), ("reports", "trial_balance")}
    return keys


def partition_names_for_days(stack, asset_key: list[str], first: str, last: str) -> list[str]:
    """Every partition of the asset whose date is in [first, last] (all tenants when tenants are a dimension)."""
    node = stack.graphql(PARTITION_KEYS, {"key": {"path": asset_key}})["assetNodeOrError"]
    dimensions = node["partitionKeysByDimension"]
    by_name = {d["name"]: d for d in dimensions}
    time_dims = [d for d in dimensions if d["type"] == "TIME_WINDOW"]
    assert len(time_dims) == 1, dimensions
    days = [k for k in time_dims[0]["partitionKeys"] if first <= k[:10] <= last]
    assert [d[:10] for d in days] == [first, "2026-11-03", last]
    if len(dimensions) == 1:
        return days
    # Multi-partitions: one key per day x member of the other dimension(s), in Dagster's own key format.
    names = [{time_dims[0]["name"]: day} for day in days]
    for name, dim in by_name.items():
        if dim is not time_dims[0]:
            names = [{**n, name: member} for n in names for member in dim["partitionKeys"]]
    return [str(dg.MultiPartitionKey(n)) for n in names]


# ~2 min (the whole graph for 3 days x 2 tenants, plus the daemon's 30 s backfill loop), yet in the default run:
# it is the one test of a backfill launched the way the UI launches it.
def test_backfill_of_the_sample_days_through_graphql(dagster_stack):
    stack = dagster_stack
    keys = stage_asset_keys(stack)
    partitions = partition_names_for_days(stack, ["ledger", "journal_entries"], FIRST_DAY, LAST_DAY)

    launched = stack.graphql(LAUNCH_BACKFILL, {"backfillParams": {
        "partitionNames": partitions,
        "assetSelection": [{"path": k} for k in keys],
        "fromFailure": False,
        "tags": [{"key": "launched_by", "value": "tests/webserver"}],
        "title": "sample days",
    }})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    # The daemon executes asset backfills (its backfill loop submits runs, its run queue launches them).
    # Started after the launch, so its first iteration finds the backfill instead of sleeping a full interval.
    with stack.daemon() as daemon:
        deadline = time.monotonic() + BACKFILL_TIMEOUT_S
        while True:
            backfill = stack.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
            assert backfill["__typename"] == "PartitionBackfill", backfill
            if backfill["status"] in TERMINAL:
                break
            assert daemon.poll() is None, "dagster-daemon exited"
            assert time.monotonic() < deadline, f"backfill still {backfill['status']} after {BACKFILL_TIMEOUT_S} s"
            time.sleep(1)

    runs = backfill["runs"]
    print(f"backfill {backfill_id}: {len(runs)} run(s),", [f"{r['runId'][:8]} {r['status']} "
          f"{r['endTime'] - r['startTime']:.0f} s" for r in runs if r["startTime"] and r["endTime"]])
    assert backfill["status"] == "COMPLETED_SUCCESS", (backfill, (stack.log_dir / "daemon.log").read_text()[-3000:])
    assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
    assert backfill["numPartitions"] == len(partitions)
    assert all({"key": "dagster/backfill", "value": backfill_id} in r["tags"] for r in runs)

    db = stack.app_db_url
    # Imported records (data_samples/README.md file table): internal acme 8+7+6, globex 6+6+5.
    assert query(db, "SELECT tenant, count(*) FROM imports.internal_transactions GROUP BY 1 ORDER BY 1") == [
        ("acme", 21), ("globex", 17)]
    # Internal records post one entry each, per day (acme 8/7/6, globex 6/6/5).
    assert query(db, "SELECT tenant, business_date::text, count(*) FROM ledger.journal_entries"
                     " WHERE idempotency_key LIKE 'internal:%%' GROUP BY 1, 2 ORDER BY 1, 2") == [
        ("acme", "2026-11-02", 8), ("acme", "2026-11-03", 7), ("acme", "2026-11-04", 6),
        ("globex", "2026-11-02", 6), ("globex", "2026-11-03", 6), ("globex", "2026-11-04", 5)]
    # The ledger balances per tenant and currency.
    assert query(db, "SELECT tenant, currency, sum(amount_minor) FROM ledger.postings GROUP BY 1, 2"
                     " HAVING sum(amount_minor) <> 0") == []
    # Cash at bank on 11-04 = the bank entries: acme -25.00 + 1.23 + 231.25 + 77.00 + 233.06 + 117.65 = 635.19,
    # globex -12.50 + 0.85 + 526.35 + 568.45 + 123.45 = 1206.60 (closing minus the first opening balance).
    assert query(db, "SELECT tenant, debit_minor - credit_minor FROM reports.trial_balance"
                     " WHERE business_date = %s AND account_code LIKE 'cash:%%' ORDER BY 1", (LAST_DAY,)) == [
        ("acme", 63519), ("globex", 120660)]
    # The documented breaks open on 11-04 (README "Deliberate breaks" 2, 3, 4a, 4b, 5a), each on its day.
    assert query(db, "SELECT tenant, break_type, amount_minor, first_seen::text FROM recon.breaks"
                     " WHERE business_date = %s AND lifecycle <> 'resolved' ORDER BY 1, 2", (LAST_DAY,)) == [
        ("acme", "amount_mismatch", 5000, "2026-11-04"),
        ("acme", "bank_unmatched", 7700, "2026-11-04"),
        ("acme", "missing_in_internal", 9000, "2026-11-04"),
        ("globex", "duplicate", 9000, "2026-11-03"),
        ("globex", "payout_sum_mismatch", 56845, "2026-11-03"),
    ]
    # Every day of both tenants was reconciled: item states exist for each tenant-day of the range.
    assert query(db, "SELECT DISTINCT tenant, business_date::text FROM recon.item_status ORDER BY 1, 2") == [
        (t, d) for t in ("acme", "globex") for d in (FIRST_DAY, "2026-11-03", LAST_DAY)]
