"""Issue 13: the match decides the 1:1 pairs from 64-bit hashes of the keys (keys.sql, keys.py).
A hash collision must never change a state: with the hashes made coarse (every key colliding with many others,
ids too), a generated window with every break type gets exactly the states and breaks of the full hashes."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pyarrow as pa
import pytest

from financeops_pipeline.imports.detect import parse_file
from financeops_pipeline.imports.normalize import classify_bank_lines
from financeops_pipeline.landing import SOURCES, day_files
from financeops_pipeline.reconciliation import engine
from financeops_pipeline.reconciliation.config import ReconConfig
from financeops_pipeline.reconciliation.engine import PREV_BREAKS_SCHEMA, ReconInputs, reconcile
from financeops_pipeline.synthetic.generate import generate

START = dt.date(2026, 11, 2)
DAYS = 4


@pytest.fixture(scope="module")
def window(tmp_path_factory) -> dict[str, pa.Table]:
    """Every record of a generated window as the record files hold them (the loader's columns)."""
    out = tmp_path_factory.mktemp("landing")
    generate(out, START, DAYS, 400, ["acme"], seed=13, break_rate=0.05)
    tables: dict[str, list[pa.Table]] = {s: [] for s in SOURCES}
    for i in range(DAYS):
        day = START + dt.timedelta(days=i)
        for source in SOURCES:
            for path in day_files(out, "acme", day, source):
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                t = parse_file(data, path.name).to_arrow()
                t = classify_bank_lines(t) if source == "bank" else t
                n = t.num_rows
                t = (t.append_column("record_no", pa.array(np.arange(1, n + 1, dtype=np.int32)))
                     .append_column("business_date", pa.repeat(pa.scalar(day, pa.date32()), n))
                     .append_column("file_sha256", pa.repeat(pa.scalar(sha), n))
                     .append_column("file_order", pa.repeat(pa.scalar(sha[:16]), n)))
                tables[source].append(t)
    return {s: pa.concat_tables(ts, promote_options="default") for s, ts in tables.items()}


def _states(window: dict[str, pa.Table], day: dt.date) -> tuple[list[tuple], list[tuple]]:
    inputs = ReconInputs(**{s: t.filter(pa.compute.less_equal(t["business_date"], pa.scalar(day, pa.date32())))
                            for s, t in window.items()}, prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    result = reconcile(inputs, day, ReconConfig())
    rows = lambda table: sorted(tuple(r.values()) for r in table.to_pylist())   # noqa: E731
    return rows(result.item_status), rows(result.breaks)


def _coarse_sql(buckets: int):
    """engine.load_sql with the keys hashed into `buckets` buckets and the ids into 5."""
    original = engine.load_sql

    def load(name: str) -> str:
        sql = original(name)
        if name.endswith("keys.sql"):
            sql = (sql.replace("AS hash(processor, pref, internal_kind(type));",
                               f"AS hash(processor, pref, internal_kind(type)) % {buckets};")
                   .replace("AS hash(processor, reference, category);",
                            f"AS hash(processor, reference, category) % {buckets};"))
            assert sql.count(f"% {buckets}") == 2
            sql = (sql.replace("hash(transaction_id) AS h", "hash(transaction_id) % 5 AS h")
                   .replace("hash(processor, line_id) AS h", "hash(processor, line_id) % 5 AS h"))
            assert sql.count("% 5 AS h") == 2
        return sql

    return load


def test_coarse_hashes_give_the_same_states(window, monkeypatch):
    last = START + dt.timedelta(days=DAYS - 1)
    exact = {day: _states(window, day) for day in (START, last)}
    assert any(s[5] == "break" for s in exact[last][0]) and any(s[5] == "matched" for s in exact[last][0])

    monkeypatch.setattr(engine, "load_sql", _coarse_sql(7))   # every key shares its hash with many others
    for day, states in exact.items():
        assert _states(window, day) == states, day


def test_two_lone_records_of_different_keys_under_one_hash_are_not_a_pair(monkeypatch):
    """An internal record and a processor line, each alone under its key, whose keys share a hash: joined by
    the hash, the strings differ, so both go to the general rules (each a break of its own)."""
    from tests.reconciliation.test_fallback_and_duplicates import DAY, _int, _line, _rows

    inputs = ReconInputs(internal=_rows("internal", [_int("tx1", "pi_1", 500)]),
                         processor=_rows("processor", [_line("ch2", "pi_2", 500)]),
                         bank=_rows("bank", []), prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    later = DAY + dt.timedelta(days=5)
    states = lambda: sorted(reconcile(inputs, later, ReconConfig()).item_status.to_pylist(),   # noqa: E731
                            key=lambda s: s["source"])
    exact = states()
    assert {(s["source"], s["break_type"]) for s in exact} == {("internal", "missing_in_processor"),
                                                               ("processor", "missing_in_internal")}
    collided = []
    real_match = engine._match

    def match(con, *args):
        result = real_match(con, *args)
        collided.append(con.sql("SELECT count(*) FROM pair_exceptions WHERE NOT same_key").fetchall()[0][0])
        return result

    monkeypatch.setattr(engine, "load_sql", _coarse_sql(1))
    monkeypatch.setattr(engine, "_match", match)
    assert states() == exact
    assert collided == [1]


def test_most_items_are_plain_pairs_and_the_rest_is_small(window):
    inputs = ReconInputs(**window, prev_breaks=PREV_BREAKS_SCHEMA.empty_table())
    result = reconcile(inputs, START + dt.timedelta(days=DAYS - 1), ReconConfig())
    assert result.plain_pairs.num_rows > 0
    assert result.item_count == result.item_status.num_rows
    assert result.open_states.num_rows < result.item_count / 2


def test_packed_sorts_find_the_lone_pairs_and_the_repeated_ids():
    """keys.py's sorts of packed words (hash high bits | side | row): a group is a pair only with exactly one
    keyed row of each side; hashes that differ in the dropped low bits share a group (a collision: the strings
    decide, split_keys compares them)."""
    from financeops_pipeline.reconciliation import keys

    big = np.uint64(1 << 40)
    g_int = np.array([5, 7, 7, 9, 13, 21], dtype=np.uint64) * big
    keyed_int = np.array([True, True, True, True, False, True])
    g_proc = np.array([5, 7, 11, 9, 9, 13], dtype=np.uint64) * big
    g_proc[-1] += np.uint64(1)   # 13 against no keyed internal row; low bits differ from the internal 13
    keyed_proc = np.ones(6, dtype=bool)
    g_proc = np.append(g_proc, 21 * big + np.uint64(3))   # 21: one each side, low bits differ: one group
    keyed_proc = np.append(keyed_proc, True)
    i_row, p_row = keys._lone_pairs(g_int, keyed_int, g_proc, keyed_proc)
    assert sorted(zip(i_row.tolist(), p_row.tolist(), strict=True)) == [(0, 0), (5, 6)]
    h = np.array([3, 8, 3, 1], dtype=np.uint64) * big
    assert keys._repeated(h).tolist() == [True, False, True, False]
    assert keys._repeated(np.zeros(0, np.uint64)).tolist() == []
