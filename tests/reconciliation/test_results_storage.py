"""How reconciliation results are stored: every item state of a day in Parquet, what people query (open
states, breaks, per-day totals) in Postgres under row-level security; matches written before either change
carried over, and day indexes summarized by the writer."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.db.connect import copy_arrow, copy_into_day, tenant_connection
from financeops_pipeline.db.migrate import migrate
from financeops_pipeline.reconciliation.engine import stored_item_status
from financeops_pipeline.reconciliation.store import day_totals

D2, D3 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
SAMPLE_DAYS = (D2, D3, dt.date(2026, 11, 4))


def _stored(sample, tenant: str, day: dt.date) -> pa.Table:
    with tenant_connection(sample.url, tenant) as conn:
        return stored_item_status(conn, sample.archive, tenant, day)


def test_every_state_is_on_file_and_postgres_keeps_the_open_ones_and_the_totals(sample):
    carried = 0
    for tenant in ("acme", "globex"):
        for day in SAMPLE_DAYS:
            states = _stored(sample, tenant, day)
            matched = states.filter(pc.equal(states["status"], "matched"))
            assert matched.num_rows > 0 and matched["match_group"].null_count == 0
            # pending on its own day, matched on a later one: that day's match, kept in that day's states
            carried += pc.sum(pc.less(matched["item_date"], pa.scalar(day, pa.date32()))).as_py() or 0
            with psycopg.connect(sample.url) as conn:
                in_postgres = conn.execute(
                    "SELECT source, source_ref, status FROM recon.item_status WHERE tenant = %s AND business_date = %s",
                    (tenant, day)).fetchall()
                totals = conn.execute(
                    "SELECT source, currency, status, scope, items, amount_minor, abs_amount_minor"
                    " FROM recon.day_totals WHERE tenant = %s AND business_date = %s ORDER BY 1, 2, 3, 4",
                    (tenant, day)).fetchall()
            open_states = states.filter(pc.or_(pc.not_equal(states["status"], "matched"),
                                               pc.is_valid(states["details"])))
            assert sorted(in_postgres) == sorted(zip(open_states["source"].to_pylist(),
                                                     open_states["source_ref"].to_pylist(),
                                                     open_states["status"].to_pylist(), strict=True))
            assert totals == [tuple(r.values()) for r in day_totals(states, day).to_pylist()]
            assert sum(r[4] for r in totals) == states.num_rows
    assert carried > 0


def test_a_tenant_sees_only_its_own_results(sample):
    with tenant_connection(sample.url, "globex") as conn:
        for table in ("recon.item_status", "recon.day_totals", "recon.breaks"):
            assert conn.execute(f"SELECT DISTINCT tenant FROM {table}").fetchall() == [("globex",)], table


def test_matches_written_before_they_became_item_states_are_kept(pg_target):
    name = "fo_test_migration_0013"
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_target.url(name)
    migrate(url, until="0012_entry_checks_read_the_batch_days")
    with psycopg.connect(url) as conn:
        for day in (D2, D3):
            for table in ("recon.item_status", "recon.matches"):
                conn.execute("SELECT ops.ensure_day_partition(%s::regclass, %s)", (table, day))
        state = ("INSERT INTO recon.item_status (tenant, business_date, source, source_ref, currency, amount_minor,"
                 " item_date, status, rule) VALUES ('acme', %s, %s, %s, 'USD', %s, %s, %s, %s)")
        conn.execute(state, (D2, "internal", "T1", 500, D2, "matched", "processor_reference"))
        conn.execute(state, (D2, "payout", "stripe:po_1", 900, D2, "pending", None))
        match = ("INSERT INTO recon.matches (tenant, business_date, match_group, rule, source, source_ref,"
                 " currency, amount_minor) VALUES ('acme', %s, %s, %s, %s, %s, 'USD', %s)")
        conn.execute(match, (D2, "ref:stripe:ch_1:charge", "processor_reference", "internal", "T1", 500))
        # the payout pending on 11-02 is matched to its bank credit on 11-03: a match without a state that day
        conn.execute(match, (D3, "bank:acct:B1", "payout_reference", "payout", "stripe:po_1", 900))
        conn.commit()
    migrate(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT business_date, match_group, rule, source, source_ref, amount_minor"
                            " FROM recon.matches ORDER BY business_date").fetchall() == [
            (D2, "ref:stripe:ch_1:charge", "processor_reference", "internal", "T1", 500),
            (D3, "bank:acct:B1", "payout_reference", "payout", "stripe:po_1", 900)]
        assert conn.execute("SELECT item_date, status, matched_on FROM recon.item_status"
                            " WHERE business_date = %s", (D3,)).fetchall() == [(D2, "matched", D3)]
        # 0024: the days reconciled before it get their totals from their stored states
        assert conn.execute("SELECT business_date, source, status, scope, items, amount_minor FROM recon.day_totals"
                            " ORDER BY 1, 2").fetchall() == [
            (D2, "internal", "matched", "day", 1, 500), (D2, "payout", "pending", "day", 1, 900),
            (D3, "payout", "matched", "carried_matched", 1, 900)]
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _states(n: int) -> pa.Table:
    return pa.table({
        "tenant": ["acme"] * n, "business_date": pa.array([D2] * n, pa.date32()), "source": ["internal"] * n,
        "source_ref": [f"T{i}" for i in range(n)], "currency": ["USD"] * n, "amount_minor": list(range(1, n + 1)),
        "item_date": pa.array([D2] * n, pa.date32()), "status": ["pending"] * n})


def _unsummarized_ranges(owner: psycopg.Connection, day: dt.date) -> int:
    """Block ranges of the day's partition its BRIN index had not summarized (summarizing them now)."""
    index = owner.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = %s::regclass AND am.amname = 'brin'",
        (f"recon.item_status_p{day:%Y%m%d}",)).fetchone()[0]
    return owner.execute("SELECT brin_summarize_new_values(%s::regclass)", (index,)).fetchone()[0]


def test_the_writer_summarizes_the_day_it_wrote(db_url):
    states = _states(50_000)   # ~40 block ranges of 128 pages
    with psycopg.connect(db_url) as owner:
        for day in (D2, D3):
            # autovacuum holding a partition makes the writer leave the summary to it: keep it away here
            part = owner.execute("SELECT ops.ensure_day_partition('recon.item_status', %s)", (day,)).fetchone()[0]
            owner.execute(f"ALTER TABLE {part} SET (autovacuum_enabled = false)")
    with tenant_connection(db_url, "acme") as conn:
        copy_into_day(conn, "recon.item_status", D2, states)
        copy_arrow(conn, "recon.item_status", states.set_column(1, "business_date", pa.array([D3] * 50_000,
                                                                                            pa.date32())))
        conn.commit()
    with psycopg.connect(db_url) as owner:
        assert _unsummarized_ranges(owner, D2) == 0      # summarized by copy_into_day
        assert _unsummarized_ranges(owner, D3) > 0       # a plain COPY leaves it to autovacuum


def test_the_assets_counts_are_the_reports_counts(sample):
    """The asset's "matched" counts each item once, on its own day, as recon_summary does (an item matched a
    day after its own is the later day's match, not that day's matched item)."""
    for day, result in sample.results.items():
        event = next(e for e in result.get_asset_materialization_events()
                     if e.asset_key.to_user_string() == "recon/three_way_match")
        with psycopg.connect(sample.url) as conn:
            matched = conn.execute("SELECT sum(items) FROM recon.day_totals WHERE business_date = %s"
                                   " AND status = 'matched' AND scope = 'day'", (day,)).fetchone()[0]
        assert event.materialization.metadata["matched"].value == matched, day


def test_pairs_files_of_either_layout_give_the_same_item_states(tmp_path):
    """The pairs file holds the processor line's id (p_ref made on reading); files written before held p_ref."""
    import pyarrow as pa

    from financeops_pipeline.reconciliation import store

    day = dt.date(2026, 11, 2)
    pairs = pa.table({
        "i_ref": ["t1", "t2"], "line_id": ["l1", "AcmeUSD:100:1"], "processor": ["stripe", "adyen"],
        "pref": ["ch_1", "psp_2"], "kind": ["charge", "refund"], "currency": ["USD", "EUR"],
        "amount_minor": [100, 250], "i_date": [day, day - dt.timedelta(days=1)], "p_date": [day, day],
        "rule_version": ["v1", "v1"]}, schema=store.PAIRS_SCHEMA)
    schema = pa.schema([("source", pa.string()), ("source_ref", pa.string()), ("currency", pa.string()),
                        ("amount_minor", pa.int64()), ("item_date", pa.date32()), ("status", pa.string()),
                        ("match_group", pa.string()), ("matched_on", pa.date32()), ("rule_version", pa.string())])
    states = schema.empty_table()
    store.write_states(tmp_path / "new", "acme", day, states, pairs.cast(pa.schema(
        [pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in ("processor", "kind") else f
         for f in store.PAIRS_SCHEMA])))
    store.write_states(tmp_path / "old", "acme", day, states, store.with_item_refs(pairs))
    new, old = (store.read_states(tmp_path / side, "acme", day) for side in ("new", "old"))
    assert new.to_pylist() == old.to_pylist()
    assert sorted(new["source_ref"].to_pylist()) == ["adyen:AcmeUSD:100:1", "stripe:l1", "t1", "t2"]
